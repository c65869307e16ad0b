#!/usr/bin/env bash
# One-time (and idempotent) set-up on Debian 12: system packages, the pinned llama.cpp build,
# the e2e test client, and xinfer itself. Re-running reuses everything already built.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

packages=(g++ cmake ninja-build ccache git pkg-config ca-certificates nlohmann-json3-dev libcli11-dev
  libsqlite3-dev libgtest-dev curl pkg-config libcurl4-openssl-dev libssl-dev libargon2-dev
  libavformat-dev libavcodec-dev libswresample-dev libavutil-dev
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us pocketsphinx-testdata flite1-dev flite espeak-ng
  ffmpeg   # the ffmpeg program only makes test uploads (m4a, webm); xinfer links the libraries
  etcd-server iproute2  # cluster mode's coordination store (xinference-supervisor starts one); tests: network namespaces
  python3 python3-numpy python3-sentencepiece  # tests only: reference forward passes and tokenizers for converted models
  chromium fonts-wqy-microhei  # tests only: the web UI in a real browser (and Chinese glyphs in its screenshots)
  clang)  # tests only: libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer (scripts/sanitize.sh)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The web UI's toolchain (esbuild, Preact), pinned by web/package-lock.json; built into the binary.
(cd web && npm ci --no-audit --no-fund --silent)
bash scripts/deps-llama.sh
bash scripts/deps-whisper.sh

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Configure every time: .deps/llama may now point at another llama.cpp build (CPU or CUDA).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
echo "setup: building xinfer"
cmake --build build -j "${XINFER_JOBS:-$(nproc)}"
echo "setup: done; the binary is build/bin/xinfer"
