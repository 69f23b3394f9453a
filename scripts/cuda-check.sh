#!/usr/bin/env bash
# Lethe's CUDA checks in one run on a machine with an NVIDIA GPU and a CUDA build of PyTorch
# (issue 12): builds the addon against that PyTorch's libtorch, runs test/cuda.test.ts on the GPU
# (and the tensor tests, for information), and `npm run bench -- engine --device cuda` in
# fp32 / bf16-mixed / fp16-mixed × contiguous / channels-last beside PyTorch on the same GPU.
#
# Such a machine has no Node and nothing can be fetched there, so the kit comes from here:
#
#   bash scripts/cuda-check.sh --pack      # here: .device/kit.tar.xz (Node, its N-API headers,
#                                          # tsx/esbuild, node-addon-api), ~30 MB, git-ignored
#   bash scripts/cuda-check.sh             # there, from the repository root, with .device carried
#
# Figures and logs go to $OUT (the device tool's folder) or ./cuda-check-out. Overrides for a
# dry run elsewhere: TORCH_INCLUDE / TORCH_LIB (libtorch's headers and libraries; default: the
# torch package of PYTHON, python3 by default), LETHE_CHECK_DEVICE (default cuda; `cpu` runs the same steps on the CPU).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--pack" ]; then
  set -e
  node_bin=$(command -v node)
  node_inc=${npm_config_nodedir:-/usr}/include/node
  [ -f "$node_inc/node_api.h" ] || { echo "no N-API headers in $node_inc (apt-get install libnode-dev)"; exit 1; }
  for m in tsx esbuild @esbuild/linux-x64 node-addon-api; do
    [ -d "node_modules/$m" ] || { echo "node_modules/$m is missing: run npm ci first"; exit 1; }
  done
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/include/node" "$stage/node_modules/@esbuild"
  cp "$node_bin" "$stage/bin/node"
  cp "$node_inc"/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h,node_version.h} \
    "$stage/include/node/"
  cp -r node_modules/tsx node_modules/esbuild node_modules/node-addon-api "$stage/node_modules/"
  cp -r node_modules/@esbuild/linux-x64 "$stage/node_modules/@esbuild/"
  rm -rf "$stage/node_modules/esbuild/bin" # the same binary as @esbuild/linux-x64's, which the API runs
  mkdir -p .device
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >>.git/info/exclude
  tar -C "$stage" -cf - . | xz -T0 -6 >.device/kit.tar.xz
  rm -rf "$stage"
  echo "wrote .device/kit.tar.xz ($(du -h .device/kit.tar.xz | cut -f1)); on the GPU machine run"
  echo "  bash scripts/cuda-check.sh    (carrying .device)"
  exit 0
fi

out=${OUT:-$PWD/cuda-check-out}
mkdir -p "$out"
device=${LETHE_CHECK_DEVICE:-cuda}
status=0
log() { echo "== $*" | tee -a "$out/summary.txt"; }

[ -f .device/kit.tar.xz ] || { echo "no .device/kit.tar.xz: run 'bash scripts/cuda-check.sh --pack' where Node is, and carry .device"; exit 1; }
kit=$(mktemp -d)
python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .device/kit.tar.xz "$kit" || exit 1
export PATH="$kit/bin:$PATH"
# The repository's node_modules is not carried (git-ignored): the kit's modules stand in for it.
if [ ! -d node_modules/tsx ]; then
  mkdir -p node_modules && cp -r "$kit/node_modules/." node_modules/
fi
log "node $(node --version); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"

python=${PYTHON:-python3}
read -r torch_version torch_dir abi < <("$python" -c 'import os, torch; print(torch.__version__, os.path.dirname(torch.__file__), int(torch._C._GLIBCXX_USE_CXX11_ABI))')
[ -n "${abi:-}" ] || { log "$python cannot import torch (PYTHON= names the interpreter that has it)"; exit 1; }
inc=${TORCH_INCLUDE:-$torch_dir/include}
lib=${TORCH_LIB:-$torch_dir/lib}
log "PyTorch $torch_version (headers $inc, libraries $lib, C++11 ABI $abi)"

# node-gyp is not there either: one g++ call with binding.gyp's flags.
command -v g++ >/dev/null || { log "no g++ on this machine (nvcc's host compiler is needed)"; exit 1; }
cuda_libs=()
[ -f "$lib/libtorch_cuda.so" ] && cuda_libs=(-ltorch_cuda -lc10_cuda)
mkdir -p native/build/Release
build() {
  g++ -std="$1" -O2 -shared -fPIC -fexceptions -frtti -Wno-unused-parameter -Wno-deprecated-declarations \
    -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED -D_GLIBCXX_USE_CXX11_ABI="$abi" \
    -I"$kit/include/node" -Inode_modules/node-addon-api -I"$inc" -I"$inc/torch/csrc/api/include" \
    native/lethe.cc -o native/build/Release/lethe.node \
    -L"$lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 "${cuda_libs[@]}" -Wl,-rpath,"$lib"
}
start=$(date +%s)
if ! build c++17 >"$out/build.log" 2>&1; then
  log "C++17 build failed; trying C++20 (newer libtorch headers need it)"
  build c++20 >>"$out/build.log" 2>&1 || { log "build failed: see build.log"; tail -30 "$out/build.log"; exit 1; }
fi
log "addon built in $(($(date +%s) - start)) s"
node --import tsx -e "import('./src/tensor/index.ts').then((t) => console.log('lethe sees', JSON.stringify(t.versions()), 'devices', t.cuda.deviceCount()))" 2>&1 | tee -a "$out/summary.txt"

run_tests() {
  local name=$1
  shift
  LETHE_REQUIRE_CUDA=$([ "$device" = cuda ] && echo 1 || echo 0) LETHE_TEST_DEVICE=$device \
    node --import tsx --test --test-concurrency=1 --test-reporter=tap "$@" >"$out/$name.tap" 2>&1
  local rc=$?
  log "$name: rc $rc, $(grep -E '^# (pass|fail|skipped)' "$out/$name.tap" | tr '\n' ' ')"
  grep -E '^not ok' "$out/$name.tap" | tee -a "$out/summary.txt"
  return $rc
}
run_tests cuda-tests test/cuda.test.ts || status=1
# CPU-side tests built against this libtorch: for information (their PyTorch 1.13 fixtures may
# differ from a newer libtorch's CPU autocast lists), never the script's verdict.
run_tests tensor-tests test/tensor-*.test.ts test/nn-memory-format.test.ts test/optim-grad-scaler.test.ts || true

start=$(date +%s)
REPEATS=${REPEATS:-20} node --import tsx bench/run.ts engine --device "$device" >"$out/bench-engine.log" 2>&1 || status=1
tail -1 "$out/bench-engine.log" >"$out/bench-engine.json"
log "engine benchmark on $device in $(($(date +%s) - start)) s"
python3 - "$out/bench-engine.json" <<'EOF' | tee -a "$out/summary.txt"
import json, sys
try:
    rows = json.load(open(sys.argv[1]))
except Exception as e:
    sys.exit(f"no benchmark rows: {e}")
for r in rows:
    if r.get("pytorch_default_ms") is not None:
        print(f"{r['name']:52} Lethe {r['lethe_ms']:8.2f} ms  PyTorch same {r['pytorch_ms']:8.2f} ms"
              f"  ratio {r['ratio']:.3f}  vs PyTorch fp32 default {r['vs_pytorch_default']:.3f}")
EOF
log "done, status $status"
exit $status
