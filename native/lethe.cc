// Lethe's native binding: a thin layer over libtorch.
//
// Plumbing only. Tensors cross into JavaScript as tagged externals that own one at::Tensor.
// Operators are not wrapped one by one: JavaScript looks an ATen operator up by its schema name
// once (`op("aten::add", "Tensor")`) and then calls it through the dispatcher's boxed calling
// convention, so autograd, CUDA and every kernel libtorch has are reached the same way PyTorch's
// own interpreter reaches them. Arguments are converted by the operator's schema; argument
// validation, shapes and messages live in TypeScript. Every entry point runs inside one guard
// that turns C++ exceptions into JavaScript errors, so nothing aborts the process.

#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <malloc.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------
// Per-environment state (main thread and each worker thread have their own).

struct AddonState {
  Napi::FunctionReference torchError;  // JavaScript class thrown for libtorch failures
  Napi::FunctionReference argError;    // JavaScript class thrown for bad arguments
};

constexpr napi_type_tag kTensorTag = {0x6c657468652d7465ULL, 0x6e736f7200000001ULL};
constexpr napi_type_tag kOpTag = {0x6c657468652d6f70ULL, 0x0000000000000002ULL};

struct TensorBox {
  at::Tensor tensor;
  int64_t bytes = 0;          // the tensor's size, counted in the live totals until released
  int64_t reportedBytes = 0;  // what this box told V8 it holds natively (CPU tensors)
};

// Live handles and their bytes, over all threads: what `memory()` reports.
std::atomic<int64_t> liveTensors{0};
std::atomic<int64_t> liveBytes{0};

enum class ArgKind {
  Tensor,
  OptionalTensor,
  TensorList,
  OptionalTensorList,
  Int,
  OptionalInt,
  Float,
  OptionalFloat,
  Bool,
  OptionalBool,
  Scalar,
  OptionalScalar,
  IntList,
  OptionalIntList,
  FloatList,
  ScalarType,
  OptionalScalarType,
  Device,
  OptionalDevice,
  String,
  OptionalString,
  MemoryFormat,          // c10::MemoryFormat's code (0 contiguous, 1 preserve, 2 channels-last)
  OptionalMemoryFormat,
  AlwaysNone,  // generators and layouts: passed as None (libtorch picks the default)
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<ArgKind> kinds;
  std::vector<size_t> listLengths;  // schema N for int[N] arguments, 0 when unspecified
  std::vector<c10::optional<c10::IValue>> defaults;
  std::vector<std::string> argNames;
};

AddonState* State(Napi::Env env) { return env.GetInstanceData<AddonState>(); }

// An error carrying a message for the JavaScript side; `isArgument` picks the class.
struct BindingError {
  std::string message;
  bool isArgument;
};

[[noreturn]] void ArgFail(const std::string& message) { throw BindingError{message, true}; }

void ThrowJs(Napi::Env env, const std::string& message, bool isArgument) {
  AddonState* state = State(env);
  Napi::FunctionReference& cls = isArgument ? state->argError : state->torchError;
  if (cls.IsEmpty()) {
    Napi::Error::New(env, message).ThrowAsJavaScriptException();
    return;
  }
  Napi::Object error = cls.New({Napi::String::New(env, message)});
  Napi::Error(env, error).ThrowAsJavaScriptException();
}

// The one guard: every exported function body runs inside it.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, const char* what, F&& body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const BindingError& e) {
    ThrowJs(env, e.message, e.isArgument);
  } catch (const c10::Error& e) {
    ThrowJs(env, std::string(what) + ": " + e.what_without_backtrace(), false);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    ThrowJs(env, std::string(what) + ": " + e.what(), false);
  } catch (...) {
    ThrowJs(env, std::string(what) + ": unknown native error", false);
  }
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
// Tensor handles.

// Frees the tensor a box owns (once) and takes it out of the live totals.
void Release(Napi::Env env, TensorBox* box) {
  if (!box->tensor.defined()) return;
  box->tensor.reset();
  liveTensors.fetch_sub(1, std::memory_order_relaxed);
  liveBytes.fetch_sub(box->bytes, std::memory_order_relaxed);
  if (box->reportedBytes != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -box->reportedBytes);
    box->reportedBytes = 0;
  }
}

// The garbage collector's backstop for handles that were never disposed.
void FinalizeTensor(Napi::Env env, TensorBox* box) {
  Release(env, box);
  delete box;
}

Napi::Value Wrap(Napi::Env env, at::Tensor tensor) {
  auto* box = new TensorBox{std::move(tensor), 0, 0};
  if (box->tensor.defined()) {
    box->bytes = static_cast<int64_t>(box->tensor.nbytes());
    liveTensors.fetch_add(1, std::memory_order_relaxed);
    liveBytes.fetch_add(box->bytes, std::memory_order_relaxed);
    if (box->tensor.device().is_cpu()) {
      box->reportedBytes = box->bytes;
      Napi::MemoryManagement::AdjustExternalMemory(env, box->reportedBytes);
    }
  }
  auto external = Napi::External<TensorBox>::New(env, box, FinalizeTensor);
  napi_type_tag_object(env, external, &kTensorTag);
  return external;
}

TensorBox* UnwrapBox(Napi::Env env, const Napi::Value& value, const char* what) {
  bool isTensor = false;
  if (value.IsExternal()) napi_check_object_type_tag(env, value, &kTensorTag, &isTensor);
  if (!isTensor) ArgFail(std::string(what) + ": expected a tensor handle");
  return value.As<Napi::External<TensorBox>>().Data();
}

const at::Tensor& Unwrap(Napi::Env env, const Napi::Value& value, const char* what) {
  TensorBox* box = UnwrapBox(env, value, what);
  if (!box->tensor.defined()) ArgFail(std::string(what) + ": the tensor has been disposed");
  return box->tensor;
}

// ---------------------------------------------------------------------------------------------
// Schema-driven argument conversion.

ArgKind KindOf(const c10::Argument& arg) {
  using c10::TypeKind;
  const c10::TypePtr& type = arg.real_type();
  TypeKind kind = type->kind();
  bool optional = false;
  c10::TypePtr inner = type;
  if (kind == TypeKind::OptionalType) {
    optional = true;
    inner = type->castRaw<c10::OptionalType>()->getElementType();
    kind = inner->kind();
  }
  switch (kind) {
    case TypeKind::TensorType:
      return optional ? ArgKind::OptionalTensor : ArgKind::Tensor;
    case TypeKind::IntType:
    case TypeKind::SymIntType:
      return optional ? ArgKind::OptionalInt : ArgKind::Int;
    case TypeKind::FloatType:
      return optional ? ArgKind::OptionalFloat : ArgKind::Float;
    case TypeKind::BoolType:
      return optional ? ArgKind::OptionalBool : ArgKind::Bool;
    case TypeKind::NumberType:
      return optional ? ArgKind::OptionalScalar : ArgKind::Scalar;
    case TypeKind::ScalarTypeType:
      return optional ? ArgKind::OptionalScalarType : ArgKind::ScalarType;
    case TypeKind::DeviceObjType:
      return optional ? ArgKind::OptionalDevice : ArgKind::Device;
    case TypeKind::StringType:
      return optional ? ArgKind::OptionalString : ArgKind::String;
    case TypeKind::ListType: {
      c10::TypeKind element = inner->castRaw<c10::ListType>()->getElementType()->kind();
      if (element == TypeKind::IntType || element == TypeKind::SymIntType) {
        return optional ? ArgKind::OptionalIntList : ArgKind::IntList;
      }
      if (element == TypeKind::FloatType) return ArgKind::FloatList;
      if (element == TypeKind::TensorType) return ArgKind::TensorList;
      if (element == TypeKind::OptionalType) return ArgKind::OptionalTensorList;
      break;
    }
    case TypeKind::MemoryFormatType:
      return optional ? ArgKind::OptionalMemoryFormat : ArgKind::MemoryFormat;
    case TypeKind::GeneratorType:
    case TypeKind::LayoutType:
      if (optional) return ArgKind::AlwaysNone;
      break;
    default:
      break;
  }
  return ArgKind::AlwaysNone;
}

bool IsNullish(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

int64_t ToInt(const Napi::Value& v, const OpEntry& op, size_t i) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) ArgFail(op.name + ": argument '" + op.argNames[i] + "' expects an integer");
  return v.As<Napi::Number>().Int64Value();
}

double ToDouble(const Napi::Value& v, const OpEntry& op, size_t i) {
  if (!v.IsNumber()) ArgFail(op.name + ": argument '" + op.argNames[i] + "' expects a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::IValue ToScalar(const Napi::Value& v, const OpEntry& op, size_t i) {
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  double d = ToDouble(v, op, i);
  // JavaScript has one number type; integral values act as Python ints, others as floats.
  if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d)) &&
      std::abs(d) < 9007199254740992.0) {
    return c10::IValue(static_cast<int64_t>(d));
  }
  return c10::IValue(d);
}

std::vector<int64_t> ToIntList(const Napi::Value& v, const OpEntry& op, size_t i) {
  if (v.IsNumber()) {
    size_t n = op.listLengths[i] == 0 ? 1 : op.listLengths[i];
    return std::vector<int64_t>(n, v.As<Napi::Number>().Int64Value());
  }
  if (!v.IsArray()) ArgFail(op.name + ": argument '" + op.argNames[i] + "' expects an int array");
  auto array = v.As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) out[k] = ToInt(array.Get(k), op, i);
  return out;
}

c10::Device ToDevice(const Napi::Value& v, const OpEntry& op, size_t i) {
  if (!v.IsString()) ArgFail(op.name + ": argument '" + op.argNames[i] + "' expects a device");
  return c10::Device(v.As<Napi::String>().Utf8Value());
}

c10::IValue ToIValue(Napi::Env env, const Napi::Value& v, const OpEntry& op, size_t i) {
  ArgKind kind = op.kinds[i];
  if (IsNullish(v)) {
    switch (kind) {
      case ArgKind::Tensor:
      case ArgKind::TensorList:
      case ArgKind::Int:
      case ArgKind::Float:
      case ArgKind::Bool:
      case ArgKind::Scalar:
      case ArgKind::IntList:
      case ArgKind::FloatList:
      case ArgKind::ScalarType:
      case ArgKind::Device:
      case ArgKind::String:
      case ArgKind::MemoryFormat:
        ArgFail(op.name + ": argument '" + op.argNames[i] + "' is required");
      default:
        return c10::IValue();
    }
  }
  switch (kind) {
    case ArgKind::Tensor:
    case ArgKind::OptionalTensor:
      return c10::IValue(Unwrap(env, v, op.name.c_str()));
    case ArgKind::TensorList:
    case ArgKind::OptionalTensorList: {
      if (!v.IsArray()) ArgFail(op.name + ": argument '" + op.argNames[i] + "' expects tensors");
      auto array = v.As<Napi::Array>();
      if (kind == ArgKind::TensorList) {
        c10::List<at::Tensor> list;
        list.reserve(array.Length());
        for (uint32_t k = 0; k < array.Length(); ++k) {
          list.push_back(Unwrap(env, array.Get(k), op.name.c_str()));
        }
        return c10::IValue(list);
      }
      c10::List<c10::optional<at::Tensor>> list;
      for (uint32_t k = 0; k < array.Length(); ++k) {
        Napi::Value item = array.Get(k);
        if (IsNullish(item)) {
          list.push_back(c10::nullopt);
        } else {
          list.push_back(Unwrap(env, item, op.name.c_str()));
        }
      }
      return c10::IValue(list);
    }
    case ArgKind::Int:
    case ArgKind::OptionalInt:
      return c10::IValue(ToInt(v, op, i));
    case ArgKind::Float:
    case ArgKind::OptionalFloat:
      return c10::IValue(ToDouble(v, op, i));
    case ArgKind::Bool:
    case ArgKind::OptionalBool:
      if (!v.IsBoolean()) ArgFail(op.name + ": argument '" + op.argNames[i] + "' expects a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case ArgKind::Scalar:
    case ArgKind::OptionalScalar:
      return ToScalar(v, op, i);
    case ArgKind::IntList:
    case ArgKind::OptionalIntList:
      return c10::IValue(ToIntList(v, op, i));
    case ArgKind::FloatList: {
      if (!v.IsArray()) ArgFail(op.name + ": argument '" + op.argNames[i] + "' expects numbers");
      auto array = v.As<Napi::Array>();
      std::vector<double> out(array.Length());
      for (uint32_t k = 0; k < array.Length(); ++k) out[k] = ToDouble(array.Get(k), op, i);
      return c10::IValue(out);
    }
    case ArgKind::ScalarType:
    case ArgKind::OptionalScalarType:
    case ArgKind::MemoryFormat:
    case ArgKind::OptionalMemoryFormat:
      return c10::IValue(ToInt(v, op, i));
    case ArgKind::Device:
    case ArgKind::OptionalDevice:
      return c10::IValue(ToDevice(v, op, i));
    case ArgKind::String:
    case ArgKind::OptionalString:
      return c10::IValue(v.ToString().Utf8Value());
    case ArgKind::AlwaysNone:
      return c10::IValue();
  }
  return c10::IValue();
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return Wrap(env, v.toTensor());
  if (v.isTensorList()) {
    auto list = v.toTensorVector();
    auto array = Napi::Array::New(env, list.size());
    for (size_t k = 0; k < list.size(); ++k) array.Set(k, Wrap(env, list[k]));
    return array;
  }
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isNone()) return env.Null();
  if (v.isIntList()) {
    auto list = v.toIntVector();
    auto array = Napi::Array::New(env, list.size());
    for (size_t k = 0; k < list.size(); ++k) array.Set(k, static_cast<double>(list[k]));
    return array;
  }
  ArgFail(std::string("unsupported return type ") + v.tagKind());
}

// ---------------------------------------------------------------------------------------------
// Exported functions.

// op(name, overload) -> handle
Napi::Value FindOp(const Napi::CallbackInfo& info) {
  return Guard(info, "op", [&]() -> Napi::Value {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto handle = c10::Dispatcher::singleton().findOp({name, overload});
    if (!handle) ArgFail("no ATen operator " + name + (overload.empty() ? "" : "." + overload));
    auto* entry = new OpEntry{*handle, name + (overload.empty() ? "" : "." + overload), {}, {}, {}, {}};
    for (const c10::Argument& arg : handle->schema().arguments()) {
      entry->kinds.push_back(KindOf(arg));
      entry->listLengths.push_back(arg.N() ? static_cast<size_t>(*arg.N()) : 0);
      entry->defaults.push_back(arg.default_value());
      entry->argNames.push_back(arg.name());
    }
    auto external = Napi::External<OpEntry>::New(info.Env(), entry,
                                                 [](Napi::Env, OpEntry* e) { delete e; });
    napi_type_tag_object(info.Env(), external, &kOpTag);
    return external;
  });
}

OpEntry* UnwrapOp(Napi::Env env, const Napi::Value& v) {
  bool isOp = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &kOpTag, &isOp);
  if (!isOp) ArgFail("expected an operator handle");
  return v.As<Napi::External<OpEntry>>().Data();
}

// Runs the operator with the JavaScript arguments info[1..]; missing trailing arguments take the
// schema's defaults. Returns the operator's stack of results.
torch::jit::Stack RunOp(const Napi::CallbackInfo& info, OpEntry*& op) {
  Napi::Env env = info.Env();
  op = UnwrapOp(env, info[0]);
  size_t given = info.Length() - 1;
  size_t total = op->kinds.size();
  if (given > total) {
    ArgFail(op->name + ": expected at most " + std::to_string(total) + " arguments but received " +
            std::to_string(given));
  }
  torch::jit::Stack stack;
  stack.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    if (i < given && !info[i + 1].IsUndefined()) {
      stack.push_back(ToIValue(env, info[i + 1], *op, i));
    } else if (op->defaults[i]) {
      stack.push_back(*op->defaults[i]);
    } else if (op->kinds[i] == ArgKind::AlwaysNone || op->kinds[i] == ArgKind::OptionalTensor ||
               op->kinds[i] == ArgKind::OptionalMemoryFormat) {
      stack.push_back(c10::IValue());
    } else {
      ArgFail(op->name + ": argument '" + op->argNames[i] + "' is required");
    }
  }
  op->handle.callBoxed(stack);
  return stack;
}

// call(op, ...args) -> result (a tensor, a number, or an array for several results)
Napi::Value Call(const Napi::CallbackInfo& info) {
  OpEntry* op = nullptr;
  return Guard(info, "call", [&]() -> Napi::Value {
    torch::jit::Stack stack;
    try {
      stack = RunOp(info, op);
    } catch (const c10::Error& e) {
      throw BindingError{(op ? op->name : std::string("call")) + ": " + e.what_without_backtrace(),
                         false};
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      // Some kernels throw a plain std::runtime_error (1.13's reshape size check): name the op too.
      throw BindingError{(op ? op->name : std::string("call")) + ": " + e.what(), false};
    }
    Napi::Env env = info.Env();
    if (stack.size() == 1) return FromIValue(env, stack[0]);
    auto array = Napi::Array::New(env, stack.size());
    for (size_t k = 0; k < stack.size(); ++k) array.Set(k, FromIValue(env, stack[k]));
    return array;
  });
}

// callInPlace(op, ...args): for in-place and out= operators whose result JavaScript already holds.
Napi::Value CallInPlace(const Napi::CallbackInfo& info) {
  OpEntry* op = nullptr;
  return Guard(info, "call", [&]() -> Napi::Value {
    try {
      RunOp(info, op);
    } catch (const c10::Error& e) {
      throw BindingError{(op ? op->name : std::string("call")) + ": " + e.what_without_backtrace(),
                         false};
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      // Some kernels throw a plain std::runtime_error (1.13's reshape size check): name the op too.
      throw BindingError{(op ? op->name : std::string("call")) + ": " + e.what(), false};
    }
    return info.Env().Undefined();
  });
}

// fromBuffer(typedArray, shape, dtype) -> tensor (copies the data)
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  return Guard(info, "fromBuffer", [&]() -> Napi::Value {
    auto array = info[0].As<Napi::TypedArray>();
    auto shapeArray = info[1].As<Napi::Array>();
    auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
    std::vector<int64_t> shape(shapeArray.Length());
    for (uint32_t k = 0; k < shapeArray.Length(); ++k) {
      shape[k] = shapeArray.Get(k).As<Napi::Number>().Int64Value();
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t bytes = t.nbytes();
    if (bytes != array.ByteLength()) {
      ArgFail("fromBuffer: data has " + std::to_string(array.ByteLength()) +
              " bytes but the shape and dtype need " + std::to_string(bytes));
    }
    if (bytes > 0) {
      auto* src = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
      std::memcpy(t.data_ptr(), src, bytes);
    }
    return Wrap(info.Env(), std::move(t));
  });
}

// toBuffer(tensor) -> ArrayBuffer with the tensor's elements, contiguous, on the CPU
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  return Guard(info, "toBuffer", [&]() -> Napi::Value {
    at::Tensor t = Unwrap(info.Env(), info[0], "toBuffer");
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    auto buffer = Napi::ArrayBuffer::New(info.Env(), c.nbytes());
    if (c.nbytes() > 0) std::memcpy(buffer.Data(), c.data_ptr(), c.nbytes());
    return buffer;
  });
}

// info(tensor) -> [dtype, device, requiresGrad, ...shape]
Napi::Value Info(const Napi::CallbackInfo& info) {
  return Guard(info, "info", [&]() -> Napi::Value {
    const at::Tensor& t = Unwrap(info.Env(), info[0], "info");
    auto out = Napi::Array::New(info.Env(), 3 + t.dim());
    out.Set(0u, static_cast<double>(static_cast<int>(t.scalar_type())));
    out.Set(1u, t.device().str());
    out.Set(2u, t.requires_grad());
    for (int64_t k = 0; k < t.dim(); ++k) out.Set(3 + k, static_cast<double>(t.size(k)));
    return out;
  });
}

// isContiguous(tensor, memoryFormat) -> whether the strides are that format's (not an ATen
// operator: PyTorch's is_contiguous is a TensorImpl query).
Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  return Guard(info, "isContiguous", [&]() -> Napi::Value {
    const at::Tensor& t = Unwrap(info.Env(), info[0], "isContiguous");
    auto format = static_cast<c10::MemoryFormat>(info[1].As<Napi::Number>().Int32Value());
    return Napi::Boolean::New(info.Env(), t.is_contiguous(format));
  });
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  return Guard(info, "dispose", [&]() -> Napi::Value {
    Release(info.Env(), UnwrapBox(info.Env(), info[0], "dispose"));
    return info.Env().Undefined();
  });
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("tensors", static_cast<double>(liveTensors.load(std::memory_order_relaxed)));
  out.Set("bytes", static_cast<double>(liveBytes.load(std::memory_order_relaxed)));
  return out;
}

Napi::Value NBytes(const Napi::CallbackInfo& info) {
  return Guard(info, "nbytes", [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(),
                             static_cast<double>(Unwrap(info.Env(), info[0], "nbytes").nbytes()));
  });
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  return Guard(info, "requiresGrad", [&]() -> Napi::Value {
    at::Tensor t = Unwrap(info.Env(), info[0], "requiresGrad");
    t.set_requires_grad(info[1].As<Napi::Boolean>().Value());
    return info.Env().Undefined();
  });
}

Napi::Value GetGrad(const Napi::CallbackInfo& info) {
  return Guard(info, "grad", [&]() -> Napi::Value {
    const at::Tensor& t = Unwrap(info.Env(), info[0], "grad");
    const at::Tensor& g = t.grad();
    if (!g.defined()) return info.Env().Null();
    return Wrap(info.Env(), g);
  });
}

// setGrad(tensor, grad | null)
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  return Guard(info, "setGrad", [&]() -> Napi::Value {
    at::Tensor t = Unwrap(info.Env(), info[0], "setGrad");
    if (IsNullish(info[1])) {
      t.mutable_grad().reset();
    } else {
      t.mutable_grad() = Unwrap(info.Env(), info[1], "setGrad");
    }
    return info.Env().Undefined();
  });
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Guard(info, "isLeaf", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), Unwrap(info.Env(), info[0], "isLeaf").is_leaf());
  });
}

std::vector<at::Tensor> TensorArray(Napi::Env env, const Napi::Value& v, const char* what) {
  std::vector<at::Tensor> out;
  if (IsNullish(v)) return out;
  auto array = v.As<Napi::Array>();
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value item = array.Get(k);
    out.push_back(IsNullish(item) ? at::Tensor() : Unwrap(env, item, what));
  }
  return out;
}

// backward(tensors, grads | null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  return Guard(info, "backward", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto tensors = TensorArray(env, info[0], "backward");
    auto grads = TensorArray(env, info[1], "backward");
    bool retain = info[2].ToBoolean().Value();
    bool create = info[3].ToBoolean().Value();
    torch::autograd::backward(tensors, grads, retain ? c10::optional<bool>(true) : c10::nullopt,
                              create);
    return env.Undefined();
  });
}

// grad(outputs, inputs, gradOutputs | null, retainGraph, createGraph, allowUnused) -> tensors
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  return Guard(info, "autograd.grad", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto outputs = TensorArray(env, info[0], "autograd.grad");
    auto inputs = TensorArray(env, info[1], "autograd.grad");
    auto gradOutputs = TensorArray(env, info[2], "autograd.grad");
    bool retain = info[3].ToBoolean().Value();
    bool create = info[4].ToBoolean().Value();
    bool allowUnused = info[5].ToBoolean().Value();
    auto result = torch::autograd::grad(outputs, inputs, gradOutputs,
                                        retain ? c10::optional<bool>(true) : c10::nullopt, create,
                                        allowUnused);
    auto array = Napi::Array::New(env, result.size());
    for (size_t k = 0; k < result.size(); ++k) {
      array.Set(k, result[k].defined() ? Wrap(env, result[k]) : env.Null());
    }
    return array;
  });
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  return Guard(info, "setGradEnabled", [&]() -> Napi::Value {
    bool previous = at::GradMode::is_enabled();
    at::GradMode::set_enabled(info[0].ToBoolean().Value());
    return Napi::Boolean::New(info.Env(), previous);
  });
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

// Autocast: libtorch's thread-local switches, as torch.autocast's __enter__/__exit__ call them.
// The policy (which ops run in which dtype) is libtorch's own: its Autocast dispatch keys sit in
// front of the kernels, so boxed calls by schema go through them like PyTorch's calls do.
// Device types are named "cpu" or "cuda".

bool IsCudaDeviceType(const Napi::Value& v) {
  std::string device = v.As<Napi::String>().Utf8Value();
  if (device == "cpu") return false;
  if (device == "cuda") return true;
  ArgFail("autocast: expected device type 'cpu' or 'cuda' but received '" + device + "'");
}

// libtorch 2.4 named the switches by device type (the CUDA-only names were deprecated, then
// dropped); 1.13 (Debian's) has only the old names. A CUDA build from pip is 2.x.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool AutocastEnabled(bool cuda) {
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
}
at::ScalarType AutocastDtype(bool cuda) {
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
}
void SetAutocastSwitch(bool cuda, bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
}
#else
bool AutocastEnabled(bool cuda) {
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
at::ScalarType AutocastDtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void SetAutocastSwitch(bool cuda, bool enabled, at::ScalarType dtype) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif

// autocastState(deviceType) -> [enabled, dtypeCode]
Napi::Value AutocastState(const Napi::CallbackInfo& info) {
  return Guard(info, "autocast", [&]() -> Napi::Value {
    bool cuda = IsCudaDeviceType(info[0]);
    auto out = Napi::Array::New(info.Env(), 2);
    out.Set(0u, AutocastEnabled(cuda));
    out.Set(1u, static_cast<double>(static_cast<int>(AutocastDtype(cuda))));
    return out;
  });
}

// setAutocast(deviceType, enabled, dtypeCode)
Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  return Guard(info, "autocast", [&]() -> Napi::Value {
    bool cuda = IsCudaDeviceType(info[0]);
    bool enabled = info[1].ToBoolean().Value();
    auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
    SetAutocastSwitch(cuda, enabled, dtype);
    return info.Env().Undefined();
  });
}

// autocastNesting(delta) -> the nesting depth after adding +1 or -1
Napi::Value AutocastNesting(const Napi::CallbackInfo& info) {
  return Guard(info, "autocast", [&]() -> Napi::Value {
    int depth = info[0].As<Napi::Number>().Int32Value() > 0 ? at::autocast::increment_nesting()
                                                            : at::autocast::decrement_nesting();
    return Napi::Number::New(info.Env(), depth);
  });
}

// Frees autocast's cached lower-precision copies of leaf weights (done on leaving the outermost
// scope, as torch.autocast does: the weights change between steps).
Napi::Value AutocastClearCache(const Napi::CallbackInfo& info) {
  return Guard(info, "autocast", [&]() -> Napi::Value {
    at::autocast::clear_cache();
    return info.Env().Undefined();
  });
}

// setAutocastCacheEnabled(enabled) -> previous
Napi::Value SetAutocastCacheEnabled(const Napi::CallbackInfo& info) {
  return Guard(info, "autocast", [&]() -> Napi::Value {
    bool previous = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(info[0].ToBoolean().Value());
    return Napi::Boolean::New(info.Env(), previous);
  });
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return Guard(info, "manualSeed", [&]() -> Napi::Value {
    uint64_t seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    at::manual_seed(seed);
    return info.Env().Undefined();
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return Guard(info, "setNumThreads", [&]() -> Napi::Value {
    at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Guard(info, "cuda.isAvailable", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
  });
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Guard(info, "cuda.deviceCount", [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
  });
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return Guard(info, "cuda.synchronize", [&]() -> Napi::Value {
    if (torch::cuda::is_available()) torch::cuda::synchronize();
    return info.Env().Undefined();
  });
}

// setErrorClasses(TorchError, ArgumentError)
Napi::Value SetErrorClasses(const Napi::CallbackInfo& info) {
  AddonState* state = State(info.Env());
  state->torchError = Napi::Persistent(info[0].As<Napi::Function>());
  state->argError = Napi::Persistent(info[1].As<Napi::Function>());
  return info.Env().Undefined();
}

// Schema text of an operator, for error messages and debugging.
Napi::Value Schema(const Napi::CallbackInfo& info) {
  return Guard(info, "schema", [&]() -> Napi::Value {
    OpEntry* op = UnwrapOp(info.Env(), info[0]);
    return Napi::String::New(info.Env(), c10::toString(op->handle.schema()));
  });
}

// The libtorch version the addon was built against, and whether it has CUDA kernels.
Napi::Value Versions(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("libtorch", TORCH_VERSION);
  out.Set("cuda", torch::cuda::is_available() ? "available" : "unavailable");
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static bool mallocTuned = false;
  if (!mallocTuned) {
    // glibc's trimming of freed memory back to the OS made every step pay for page faults
    // (measured 15-40% slower); keep freed blocks in the heap instead.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallocTuned = true;
  }
  env.SetInstanceData(new AddonState());

  exports.Set("op", Napi::Function::New(env, FindOp));
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("callInPlace", Napi::Function::New(env, CallInPlace));
  exports.Set("schema", Napi::Function::New(env, Schema));
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, ToBuffer));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("nbytes", Napi::Function::New(env, NBytes));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad));
  exports.Set("grad", Napi::Function::New(env, GetGrad));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad));
  exports.Set("isLeaf", Napi::Function::New(env, IsLeaf));
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("autogradGrad", Napi::Function::New(env, AutogradGrad));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("isContiguous", Napi::Function::New(env, IsContiguous));
  exports.Set("autocastState", Napi::Function::New(env, AutocastState));
  exports.Set("setAutocast", Napi::Function::New(env, SetAutocast));
  exports.Set("autocastNesting", Napi::Function::New(env, AutocastNesting));
  exports.Set("autocastClearCache", Napi::Function::New(env, AutocastClearCache));
  exports.Set("setAutocastCacheEnabled", Napi::Function::New(env, SetAutocastCacheEnabled));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, CudaIsAvailable));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize));
  exports.Set("versions", Napi::Function::New(env, Versions));
  exports.Set("setErrorClasses", Napi::Function::New(env, SetErrorClasses));
  return exports;
}

}  // namespace

NODE_API_MODULE(lethe, Init)
