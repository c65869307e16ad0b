#!/usr/bin/env bash
# Sets up (first run) and starts xinfer on 127.0.0.1:9997 (override with -H/-p), then launches
# the demo chat model: a tiny random-weight model generated locally, so everything works with no
# download. Set XINFER_NO_DEMO=1 to start with no model. Ctrl-C stops the service and its models.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh

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

build/bin/xinfer serve -H "$host" -p "$port" "${rest[@]}" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 100); do curl -sf "http://$host:$port/status" >/dev/null && break; sleep 0.1; done

if [ "${XINFER_NO_DEMO:-0}" != 1 ]; then
  demo="build/demo-models/demo-chat.gguf"
  if [ ! -f "$demo" ]; then
    mkdir -p build/demo-models
    build/bin/make_tiny_gguf chat .deps/llama/src/models/ggml-vocab-qwen2.gguf "$demo"
  fi
  build/bin/xinfer launch -e "http://$host:$port" --model-name demo-chat --model-type LLM --model-path "$demo"
  echo "Try: curl http://$host:$port/v1/chat/completions -H 'Content-Type: application/json' \\"
  echo "       -d '{\"model\":\"demo-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'"
fi
wait $pid
