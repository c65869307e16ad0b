#!/usr/bin/env bash
# Runs the whole suite several times in a row, optionally on a machine loaded by `stress`
# (Debian package), and reports each run: flaky tests show up here before they show up in CI.
#   bash tests/soak.sh [RUNS=5] [--stress]      (after scripts/test.sh has built everything)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
load=""
if [ "${2:-}" = "--stress" ]; then
  command -v stress >/dev/null || { echo "soak: install Debian's stress package first"; exit 2; }
  stress --cpu "$(nproc)" --io 1 --vm 1 --vm-bytes 256M >/dev/null 2>&1 &
  load=$!
  trap 'kill $load 2>/dev/null' EXIT
fi
failed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  log=$(mktemp /tmp/xinfer-soak-XXXXXX.log)
  if (cd "$repo/build" && ctest -j "${XINFER_TEST_JOBS:-2}" >"$log" 2>&1); then
    echo "run $i: passed in $(( $(date +%s) - start )) s"
  else
    failed=$((failed + 1))
    echo "run $i: FAILED in $(( $(date +%s) - start )) s ($log):"
    grep -E "\(Failed|\(Timeout|\*\*\*" "$log" | sed 's/^/  /'
  fi
done
echo "soak: $((runs - failed)) of $runs runs passed${load:+ under stress}"
[ "$failed" -eq 0 ]
