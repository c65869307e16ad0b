#!/usr/bin/env bash
# Fetches one npm package tarball into a cache folder and checks it against a pinned sha256.
# A tarball already there with the right hash is reused. Prints the tarball's path.
#   fetch-npm-tarball.sh PACKAGE VERSION SHA256 CACHE_DIR
set -euo pipefail
pkg=$1 version=$2 sha=$3 cache=$4
# npm names scoped tarballs "scope-name-version.tgz" (no "@", "/" becomes "-").
file=$(echo "$pkg" | sed 's|^@||; s|/|-|')-$version.tgz
tgz="$cache/$file"
mkdir -p "$cache"
if [ ! -f "$tgz" ] || ! echo "$sha  $tgz" | sha256sum -c --quiet - 2>/dev/null; then
  echo "fetching $pkg@$version from npm" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
  mv "$tmp/$file" "$tgz"
  rm -rf "$tmp"
fi
echo "$sha  $tgz" | sha256sum -c --quiet - || { echo "sha256 mismatch for $tgz" >&2; exit 1; }
echo "$tgz"
