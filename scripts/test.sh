#!/usr/bin/env bash
# Sets up (first run), builds, and runs every test: unit tests (GoogleTest) and end-to-end tests
# (the real binary over HTTP, with the official openai npm client), all through CTest.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
(cd tests/e2e && npm ci --no-audit --no-fund --silent)
cd build
ctest --output-on-failure -j "${XINFER_TEST_JOBS:-2}" "$@"
