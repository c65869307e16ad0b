#!/usr/bin/env bash
# Fetches the pinned whisper.cpp 1.9.3 source (carried by the npm package @fugood/whisper.node),
# keeps only its library source and headers, and links it at .deps/whisper. xinfer compiles
# whisper.cpp itself, against llama.cpp's ggml: one ggml per binary.
set -euo pipefail

PKG=@fugood/whisper.node
VERSION=1.1.3
SHA256=e9ebb2ad201a7d55fedf9557faf95f8a98ea796cf83ad4fd8317ed32ba2f6b19

repo=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${XINFER_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xinfer-deps}
dest="$cache_root/whisper-$VERSION-$(echo "$SHA256" | cut -c1-12)"

if [ ! -f "$dest/.complete" ]; then
  tgz=$(bash "$repo/scripts/fetch-npm-tarball.sh" "$PKG" "$VERSION" "$SHA256" "$cache_root")
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=2 package/whisper.cpp/src package/whisper.cpp/include
  grep -q 'set(WHISPER_VERSION_PATCH 3)' <(tar -xzOf "$tgz" package/whisper.cpp/CMakeLists.txt) \
    || { echo "unexpected whisper.cpp version in $tgz" >&2; exit 1; }
  touch "$dest/.complete"
fi
mkdir -p "$repo/.deps"
ln -sfn "$dest" "$repo/.deps/whisper"
echo "whisper.cpp: source at $dest"
