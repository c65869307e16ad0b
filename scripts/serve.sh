#!/usr/bin/env bash
# Sets up (first run) and starts xinfer on 127.0.0.1:9997 (override with -H/-p), then launches
# the demo chat model: a tiny random-weight model generated locally, so everything works with no
# download. Set XINFER_NO_DEMO=1 to start with no model. Ctrl-C stops the service and its models.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# XINFER_SKIP_SETUP=1: already set up and built, start at once.
[ "${XINFER_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh

# -H/-p are read here (the demo launch needs the address); every other flag goes to `xinfer serve`.
host=127.0.0.1 port=9997
rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    -H|--host) host=$2; shift 2 ;;
    -p|--port) port=$2; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done

# The service's output goes to the terminal and its first line saying where it listens (with -p 0
# the port is the kernel's pick) to a file: sed stops reading after it, and tee -p goes on
# without it (the file does not grow with the service's log). tee -i: Ctrl-C reaches tee too, which
# must stay to show the service's shutdown.
out=$(mktemp)
build/bin/xinfer serve -H "$host" -p "$port" "${rest[@]}" > >(tee -i -p >(sed -n '/xinfer listening on/{p;q}' > "$out")) 2>&1 &
pid=$!
# Ctrl-C (or a TERM) stops the service, which terminates its models; the script ends as it does.
trap 'kill -TERM $pid 2>/dev/null; rc=0; wait $pid || rc=$?; rm -f "$out"; exit $rc' INT TERM
address=""
for _ in $(seq 300); do
  if ! kill -0 $pid 2>/dev/null; then  # it could not start (its reason is above)
    rc=0; wait $pid || rc=$?; rm -f "$out"; exit $rc
  fi
  # (listening on every interface: reached here on loopback)
  address=$(sed -n 's|.*xinfer listening on \(http://[^ ]*\).*|\1|p' "$out" | head -1 |
            sed -E "s,^http://(0\.0\.0\.0|::):,http://127.0.0.1:,")
  [ -n "$address" ] && curl -sf "$address/status" >/dev/null && break
  sleep 0.1
done

if [ -z "$address" ]; then
  echo "serve.sh: xinfer did not answer within 30 s; not launching the demo model" >&2
elif [ "${XINFER_NO_DEMO:-0}" != 1 ]; then
  demo="build/demo-models/demo-chat.gguf"
  if [ ! -f "$demo" ]; then
    mkdir -p build/demo-models
    build/bin/make_tiny_gguf chat .deps/llama/src/models/ggml-vocab-qwen2.gguf "$demo"
  fi
  if build/bin/xinfer launch -e "$address" --model-name demo-chat --model-type LLM --model-path "$demo"; then
    echo "Try: curl $address/v1/chat/completions -H 'Content-Type: application/json' \\"
    echo "       -d '{\"model\":\"demo-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'"
  else
    echo "serve.sh: the demo model did not launch (see above); xinfer keeps running at $address without it" >&2
  fi
fi
rc=0; wait $pid || rc=$?
rm -f "$out"
exit $rc
