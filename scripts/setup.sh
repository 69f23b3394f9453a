#!/usr/bin/env bash
# Sets up Lethe on a fresh Debian/Ubuntu machine: system packages (libtorch, a C++ toolchain,
# Node's headers, the Fashion-MNIST data set; Redis, Slurm and munge, which the tests of the
# distributed executors run against), npm dependencies, the native addon and the TypeScript build.
# Safe to run again. It installs the engines but starts nothing: scripts/services.sh does.
#
#   bash scripts/setup.sh                # what the demo and the tests need
#   bash scripts/setup.sh --with-pytorch # also python3-torch(vision), for benchmarks and fixtures
#
# Elsewhere: install libtorch (or unpack a libtorch distribution and export LIBTORCH=/path/to/it,
# e.g. a CUDA build), a C++17 compiler, make and python3, then run `npm ci && npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libtorch-dev g++ make python3 dataset-fashion-mnist redis-server slurm-wlm munge chromium)
if [[ "${1:-}" == "--with-pytorch" ]]; then packages+=(python3-torch python3-torchvision); fi
[[ -f /usr/include/node/node_api.h || -n "${npm_config_nodedir:-}" ]] || packages+=(libnode-dev)

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "setup: this is not a Debian/Ubuntu system; install ${missing[*]} (or set LIBTORCH) by hand" >&2
    exit 1
  fi
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  # Debian starts redis-server and the Slurm daemons on install where systemd runs; the tests start
  # their own (scripts/services.sh), so the packages' services are left as the system has them.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
echo "setup: done. Try: node bin/lethe.js demo"
