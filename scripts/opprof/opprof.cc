// opprof: an LD_PRELOAD op recorder for libtorch processes (a development aid, not part of Lethe).
//
// Preloaded into any process that uses libtorch (Node with Lethe's addon, or Python with
// PyTorch), it registers a global RecordFunction observer and, at exit, writes one line per
// operator call or autograd node: start order, nesting depth, scope, name, the dtype, shape and
// memory format of every tensor input and output (c contiguous, cl channels-last, c=cl both,
// s(strides) neither), and its wall time. Comparing two such files shows where two programs
// differ op by op (extra copies, reorders, layouts), which timing alone cannot; it is how the
// NCHW stem of issue 12 was found.
//
//   g++ -O2 -DNDEBUG -shared -fPIC -std=c++17 scripts/opprof/opprof.cc -o /tmp/opprof.so
//       -I/usr/include/torch/csrc/api/include -ltorch_cpu -lc10
//   OPPROF_OUT=/tmp/lethe.tsv LD_PRELOAD=/tmp/opprof.so
//       node --import tsx scripts/opprof/lethe-step.ts bf16-mixed channelsLast
//   OPPROF_OUT=/tmp/torch.tsv LD_PRELOAD=/tmp/opprof.so
//       /usr/bin/python3 scripts/opprof/pytorch-step.py bf16-mixed channelsLast
//   python3 scripts/opprof/compare.py /tmp/lethe.tsv /tmp/torch.tsv --diff
//
// "%p" in OPPROF_OUT becomes the process id (a benchmark and the PyTorch process it spawns);
// OPPROF_MAX caps the events kept (400,000).
#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unistd.h>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Event {
  uint64_t seq;
  int depth;
  int scope;
  uint64_t thread;
  std::string name;
  std::string inputs;
  std::string outputs;
  int64_t ns;
};

struct Ctx : at::ObserverContext {
  uint64_t seq;
  int depth;
  std::chrono::steady_clock::time_point t0;
  std::string inputs;
};

std::mutex mu;
// Plain pointers, set in init(): the constructor below may run before this file's dynamic
// initialisers, and the atexit writer after its static destructors.
std::vector<Event>* events = nullptr;
uint64_t nextSeq = 0;
size_t maxEvents = 400000;
thread_local int depth = 0;
std::string* outPath = nullptr;

const char* dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "f32";
    case at::kBFloat16: return "bf16";
    case at::kHalf: return "f16";
    case at::kDouble: return "f64";
    case at::kLong: return "i64";
    case at::kInt: return "i32";
    case at::kBool: return "b";
    case at::kByte: return "u8";
    default: return "?";
  }
}

void describe(std::ostringstream& os, const at::Tensor& t) {
  if (!t.defined()) {
    os << "undef";
    return;
  }
  os << dtypeName(t.scalar_type()) << "[";
  for (int64_t k = 0; k < t.dim(); ++k) os << (k ? "x" : "") << t.size(k);
  os << "]";
  if (t.is_mkldnn()) {
    os << "mkldnn";
    return;
  }
  bool c = t.is_contiguous();
  bool cl = t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast);
  if (c && cl) os << "c=cl";
  else if (c) os << "c";
  else if (cl) os << "cl";
  else {
    os << "s(";
    for (int64_t k = 0; k < t.dim(); ++k) os << (k ? "," : "") << t.stride(k);
    os << ")";
  }
}

std::string describeAll(c10::ArrayRef<const c10::IValue> values) {
  std::ostringstream os;
  bool first = true;
  for (const auto& v : values) {
    if (v.isTensor()) {
      if (!first) os << " ";
      describe(os, v.toTensor());
      first = false;
    } else if (v.isTensorList()) {
      if (!first) os << " ";
      os << "list" << v.toTensorList().size();
      first = false;
    }
  }
  return os.str();
}

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction& fn) {
  auto ctx = std::make_unique<Ctx>();
  {
    std::lock_guard<std::mutex> lock(mu);
    ctx->seq = nextSeq++;
  }
  ctx->depth = depth++;
  ctx->inputs = describeAll(fn.inputs());
  ctx->t0 = std::chrono::steady_clock::now();
  return ctx;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext* raw) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - static_cast<Ctx*>(raw)->t0)
                .count();
  auto* ctx = static_cast<Ctx*>(raw);
  --depth;
  Event e{ctx->seq, ctx->depth, static_cast<int>(fn.scope()), fn.threadId(), fn.name(),
          std::move(ctx->inputs), describeAll(c10::ArrayRef<const c10::IValue>(fn.outputs().data(), fn.outputs().size())), ns};
  std::lock_guard<std::mutex> lock(mu);
  if (events->size() < maxEvents) events->push_back(std::move(e));
}

void writeOut() {
  if (!outPath) return;
  std::lock_guard<std::mutex> lock(mu);
  FILE* f = std::fopen(outPath->c_str(), "w");
  if (!f) return;
  std::fprintf(f, "seq\tdepth\tscope\tthread\tname\tinputs\toutputs\tns\n");
  std::vector<const Event*> sorted(events->size());
  for (size_t k = 0; k < events->size(); ++k) sorted[k] = &(*events)[k];
  std::sort(sorted.begin(), sorted.end(),
            [](const Event* a, const Event* b) { return a->seq < b->seq; });
  for (const Event* e : sorted) {
    std::fprintf(f, "%llu\t%d\t%d\t%llu\t%s\t%s\t%s\t%lld\n",
                 static_cast<unsigned long long>(e->seq), e->depth, e->scope,
                 static_cast<unsigned long long>(e->thread), e->name.c_str(),
                 e->inputs.c_str(), e->outputs.c_str(), static_cast<long long>(e->ns));
  }
  std::fclose(f);
}

__attribute__((constructor)) void init() {
  const char* out = std::getenv("OPPROF_OUT");
  if (!out) return;
  // "%p" in the path becomes the process id: a parent and the children it spawns write apart.
  outPath = new std::string(out);
  auto at = outPath->find("%p");
  if (at != std::string::npos) outPath->replace(at, 2, std::to_string(getpid()));
  events = new std::vector<Event>();
  if (const char* m = std::getenv("OPPROF_MAX")) maxEvents = std::strtoull(m, nullptr, 10);
  at::addGlobalCallback(
      at::RecordFunctionCallback(onStart, onEnd).needsInputs(true).needsOutputs(true));
  std::atexit(writeOut);
}

}  // namespace
