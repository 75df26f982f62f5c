#!/usr/bin/env bash
# Installs everything nnunet-ts needs on a fresh Debian/Ubuntu machine, then builds it:
#   libtorch-dev (apt, as root; skipped when LIBTORCH=/path is set), cmake/ninja/g++, npm packages, the native addon.
# With --test it also installs the reference implementation the tests cross-check against
# (Debian's python3-torch, python3-nibabel, python3-scipy for /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
if [ -z "${LIBTORCH:-}" ] && ! ls /usr/lib/*/cmake/Torch/TorchConfig.cmake >/dev/null 2>&1; then packages+=(libtorch-dev); fi
command -v cmake >/dev/null || packages+=(cmake)
command -v ninja >/dev/null || packages+=(ninja-build)
command -v g++ >/dev/null || packages+=(g++)
# The addon binds libtorch's c10d (ProcessGroupGloo); Debian's libtorch-dev leaves the gloo headers to libgloo-dev.
if [ -z "${LIBTORCH:-}" ] && [ ! -d /usr/include/gloo ]; then packages+=(libgloo-dev); fi
if [ "${1:-}" = "--test" ] && ! /usr/bin/python3 -c 'import torch, nibabel, scipy' >/dev/null 2>&1; then
  packages+=(python3-torch python3-nibabel python3-scipy)
fi
# Browser tests drive Debian's Chromium through playwright-core (no browser download).
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null; then packages+=(chromium); fi

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${packages[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    echo "setup: missing ${packages[*]}: install them (Debian/Ubuntu: sudo apt-get install ${packages[*]}), or set LIBTORCH=/path/to/libtorch for libtorch, then rerun" >&2
    exit 1
  fi
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# onnxruntime-node's install script would fetch optional GPU binaries from outside npm; its CPU binaries are in the
# package, so that step is skipped.
export ONNXRUNTIME_NODE_INSTALL=skip
# npm ci installs the packages, builds the addon (install script) and compiles TypeScript (prepare script).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -f native/build/Release/nnunet_torch.node ] || [ ! -d dist ]; then
  npm ci --no-audit --no-fund
else
  echo "setup: node_modules, native addon and dist are up to date"
fi
