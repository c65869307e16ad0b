#!/usr/bin/env bash
# Fetches the pinned llama.cpp source (carried by the npm package node-llama-cpp) and builds the
# parts xinfer uses: ggml, libllama, llama-server, llama-embedding. The result lives in a cache
# folder outside the work tree so that clean clones (CI) reuse it; a stamp names the source commit,
# the build options and the CPU, so a changed pin or machine rebuilds instead of reusing.
#
# Prints nothing on success but progress; leaves a `.deps/llama` symlink in the repo.
set -euo pipefail

NLC_VERSION=3.22.1
NLC_SHA256=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
LLAMA_COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6

repo=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${XINFER_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xinfer-deps}
cuda=${XINFER_CUDA:-OFF}
cmake_opts=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DLLAMA_USE_PREBUILT_UI=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DGGML_CUDA="$cuda")
if [ "$cuda" = ON ]; then
  # Backends become run-time plugins (GGML_BACKEND_DL): the same build serves a GPU machine and,
  # when libggml-cuda cannot load (no driver), falls back to the CPU instead of failing to start.
  # Plugins rule out -march=native, so the CPU backend comes in variants picked at run time; ggml
  # depends on every plugin, so the targets below build them all.
  cmake_opts+=(-DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=ON)
  command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"  # NVIDIA's default install
  command -v nvcc >/dev/null || { echo "XINFER_CUDA=ON: nvcc (the CUDA toolkit) is not installed" >&2; exit 1; }
  # Device code is compiled per GPU architecture, and each one costs a long build: take the GPUs
  # in this machine, or the list the user names (90 = H100/H200, 89 = L4/RTX 40, 80 = A100).
  archs=${XINFER_CUDA_ARCHS:-}
  if [ -z "$archs" ]; then
    nvidia-smi -L >/dev/null 2>&1 && archs=native || {
      echo "XINFER_CUDA=ON: no GPU visible; set XINFER_CUDA_ARCHS (e.g. 90 for H100, 89 for L4, 80 for A100)" >&2
      exit 1
    }
  fi
  cmake_opts+=(-DCMAKE_CUDA_ARCHITECTURES="$archs")
fi
cpu_sig=$(grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-12)
# xinfer's own small changes to llama-server (scripts/llama-patches/, each explained inside).
patches=("$repo"/scripts/llama-patches/*.patch)
patch_sig=$(cat "${patches[@]}" | sha256sum | cut -c1-12)
key=$(printf '%s %s %s %s' "$LLAMA_COMMIT" "${cmake_opts[*]}" "$cpu_sig" "$patch_sig" | sha256sum | cut -c1-16)
dest="$cache_root/llama-$key"

if [ -f "$dest/.complete" ]; then
  echo "llama.cpp: reusing $dest"
else
  tgz=$(bash "$repo/scripts/fetch-npm-tarball.sh" node-llama-cpp "$NLC_VERSION" "$NLC_SHA256" "$cache_root")

  rm -rf "$dest" && mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" package/llama/gitRelease.bundle
  git -c advice.detachedHead=false clone -q "$dest/package/llama/gitRelease.bundle" "$dest/src"
  rm -rf "$dest/package"
  [ "$(git -C "$dest/src" rev-parse HEAD)" = "$LLAMA_COMMIT" ] || { echo "unexpected llama.cpp commit" >&2; exit 1; }
  for p in "${patches[@]}"; do git -C "$dest/src" apply "$p" || { echo "cannot apply $p" >&2; exit 1; }; done

  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
    -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  echo "llama.cpp: configuring"
  cmake -S "$dest/src" -B "$dest/build" -G Ninja "${cmake_opts[@]}" "${launcher[@]}" >"$dest/configure.log"
  echo "llama.cpp: building llama-server and llama-embedding (takes a while on first run)"
  cmake --build "$dest/build" --target llama-server llama-embedding -j "${XINFER_JOBS:-$(nproc)}" >"$dest/build.log" \
    || { tail -40 "$dest/build.log" >&2; exit 1; }
  touch "$dest/.complete"
fi

mkdir -p "$repo/.deps"
ln -sfn "$dest" "$repo/.deps/llama"
