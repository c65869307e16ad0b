#!/usr/bin/env bash
# The hostile-input job (CI runs it after the tests): builds xinfer and the libFuzzer targets in
# fuzz/ with clang, AddressSanitizer and UndefinedBehaviorSanitizer (in build-asan/), runs each
# target for a bounded time from its seed corpus, then runs end-to-end tests against the
# sanitized binary. Any sanitizer finding, crash or hang fails the job.
#   XINFER_FUZZ_SECONDS  seconds per fuzz target (default 60)
#   XINFER_SANITIZE_E2E  e2e test files to run sanitized (default: the ones below)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
seconds=${XINFER_FUZZ_SECONDS:-60}
targets=(http_request json_requests auth_token model_headers config_files)

# clang comes from Debian (scripts/setup.sh installs it); llama.cpp and whisper.cpp sources
# from the main build's set-up.
test -e .deps/llama/build/bin/llama-server || bash scripts/setup.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-asan -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
  -DXINFER_FUZZ=ON "${launcher[@]}" >/dev/null
cmake --build build-asan -j "$(nproc)" --target xinfer $(printf 'fuzz_%s ' "${targets[@]}")

export ASAN_OPTIONS=abort_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-asan/fuzz-findings
for t in "${targets[@]}"; do
  work=build-asan/fuzz-corpus/$t
  mkdir -p "$work"
  dict=()
  [ "$t" = http_request ] && dict=(-dict=fuzz/http.dict)
  # The HTTP target keeps a server running across inputs: its threads' memory is not a leak.
  leaks=1
  [ "$t" = http_request ] && leaks=0
  echo "fuzz_$t: ${seconds}s"
  # The targets' scratch files (fuzz/fuzz_util.h) go to a folder here, removed below.
  mkdir -p build-asan/fuzz-tmp
  if ! TMPDIR="$repo/build-asan/fuzz-tmp" build-asan/bin/fuzz_$t -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
       -detect_leaks=$leaks -print_final_stats=1 -artifact_prefix=build-asan/fuzz-findings/$t- "${dict[@]}" \
       "$work" fuzz/corpus/$t > build-asan/fuzz-$t.log 2>&1; then
    tail -60 build-asan/fuzz-$t.log
    echo "fuzz_$t FOUND A PROBLEM: input saved under build-asan/fuzz-findings/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov: " build-asan/fuzz-$t.log | tail -3
  rm -rf build-asan/fuzz-tmp
done

# End-to-end tests with the sanitized binary (its engines' own llama-server is not sanitized).
# A sanitizer finding aborts the service, which fails the test that was talking to it.
files=${XINFER_SANITIZE_E2E:-"auth.test.mjs hostile_input.test.mjs xinference_api.test.mjs management.test.mjs chat.test.mjs embeddings.test.mjs speech.test.mjs embedding_batching.test.mjs rerank_batching.test.mjs"}
(cd tests/e2e && [ -d node_modules ] || npm ci --no-audit --no-fund --silent)
export ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0:log_path=$repo/build-asan/asan
rm -f build-asan/asan.*
cd tests/e2e
XINFER_BIN=$repo/build-asan/bin/xinfer XINFER_TEST_MODELS=$repo/build/test-models LLAMA_SRC=$repo/.deps/llama/src \
  LLAMA_BIN=$repo/.deps/llama/build/bin \
  node --test --test-concurrency=2 $files
cd "$repo"
if ls build-asan/asan.* >/dev/null 2>&1; then
  cat build-asan/asan.*
  echo "sanitizer reports above" >&2
  exit 1
fi
echo "sanitize: fuzzing and sanitized e2e tests clean"
