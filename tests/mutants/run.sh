#!/usr/bin/env bash
# Deliberate breakages of README promises, one at a time: each mutant edits one source line, the
# binary is rebuilt, and the tests that guard the promise must fail ("killed"). A mutant that
# survives names a promise no test holds. Not part of the default test run (each costs a rebuild);
# run on demand after scripts/test.sh:   bash tests/mutants/run.sh [NAME-FILTER]
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
filter=${1:-}

# name | file | sed expression (must change the file) | ctest -R regex of the guarding tests
mutants=(
  "stream-buffered|src/api/routes_openai.cpp|s/opts.stream = body.value(\"stream\", false);/opts.stream = false;/|e2e_chat"
  "speech-stream-buffered|src/api/routes_audio.cpp|s/opts.stream = opt_bool(body, \"stream\").value_or(false);/opts.stream = false;/|e2e_speech"
  "abort-keeps-engine-socket|src/api/request_tracker.cpp|s/if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);/(void)fd_;/|e2e_xinference_api"
  "cpu-budget-strict-by-default|src/supervisor/supervisor.h|s/CpuBudget cpu_budget = CpuBudget::shared;/CpuBudget cpu_budget = CpuBudget::strict;/|e2e_seed_deploy"
  "generic-keys-refused|src/supervisor/launch_request.cpp|s/r.ignored.push_back(k + \"=\"/r.engine_options[k] = v; (void)(k + \"=\"/|e2e_xinference_api"
  "backoff-not-doubling|src/supervisor/supervisor_recovery.cpp|s/config_.restart_backoff \\* (1 << std::min(rec->restarts, 10))/config_.restart_backoff * 1/|e2e_promises"
  "requests-accepted-while-draining|src/api/api_server.cpp|s/if (!draining_) return/if (true) return/|e2e_promises"
  "drain-without-deadline|src/api/api_server.cpp|s/while (in_flight() > 0 \\&\\& std::chrono::steady_clock::now() < deadline)/while (in_flight() > 0)/|e2e_promises"
  "deployment-ignores-enable-false|src/supervisor/deployment.cpp|s/if (!enable) {/if (false) {/|e2e_promises"
  "unload-keeps-reservation|src/supervisor/supervisor_recovery.cpp|/for (auto\\& r : stopping) r->stop();/{n;s/release_placement(\\*rec);/(void)0;/}|e2e_promises"
  "instances-ignore-uid|src/api/routes_models.cpp|s/d\\[\"model_uid\"\\] != uid/false/|e2e_xinference_api"
  "replicas-not-least-busy|src/supervisor/supervisor_routing.cpp|s/(!best .. r->in_flight < best->in_flight)/(!best)/|e2e_management"
  "queue-overflow-accepted|src/supervisor/supervisor_routing.cpp|s/if (rec->waiting >= queue) throw over();/(void)queue;/|e2e_lifecycle"
  "translate-flag-dropped|src/engines/whisper/whisper_stt.cpp|s/wp.translate = opt.translate;/wp.translate = false;/|e2e_whisper"
  "timestamps-wrong-unit|src/engines/whisper/whisper_stt.cpp|s/_t0_from_state(state, i) \\/ 100.0/_t0_from_state(state, i) \\/ 10.0/|e2e_whisper"
  "decoder-returns-silence|src/audio/decode.cpp|s/^    if (out.samples.empty())$/    std::fill(out.samples.begin(), out.samples.end(), 0.0f);\\n    if (out.samples.empty())/|e2e_speech"
  "pcm-not-24khz|src/audio/encode.cpp|s/return s16le(resample(pcm, 24000));/return s16le(pcm);/|e2e_speech"
  "aac-made-as-mp3|src/audio/encode.cpp|s/ffmpeg_encode(pcm, \"adts\", AV_CODEC_ID_AAC/ffmpeg_encode(pcm, \"mp3\", AV_CODEC_ID_MP3/|e2e_speech"
  "wordpiece-without-word-start-marker|src/convert/tokenizer_wordpiece.cpp|s/else pieces.push_back(\"\\\\xe2\\\\x96\\\\x81\" + t);/else pieces.push_back(t);/|e2e_convert"
  "rerank-pair-without-last-sep|src/convert/arch_bert.cpp|s/vocab.sep + \"{document}\" + vocab.sep/vocab.sep + \"{document}\"/|e2e_convert"
  "conversion-cache-ignores-changes|src/convert/hf_folder.cpp|s/mix(std::to_string(fs::last_write_time/(void)(std::to_string(fs::last_write_time/|e2e_convert"
  "xlmr-positions-not-offset|src/convert/arch_bert.cpp|s/const int64_t position_offset = xlmr ? f.config.value(\"pad_token_id\", 1) + 1 : 0;/const int64_t position_offset = 0;/|e2e_convert"
  "bpe-wrong-pre-tokenizer|src/convert/tokenizer_bpe.cpp|s/, \"qwen2\"},/, \"gpt-2\"},/|e2e_convert"
  "qwen-rope-base-ignored|src/convert/arch_decoder.cpp|s/f.config.value(\"rope_theta\", llama ? 500000.0f : 1000000.0f)/10000.0f/|e2e_convert"
  "llama3-rope-factors-dropped|src/convert/arch_decoder.cpp|s/    if (scaling_type == \"llama3\") add_llama3_rope_factors/    if (false) add_llama3_rope_factors/|e2e_convert"
  "llama-heads-not-interleaved|src/convert/arch_decoder.cpp|s/if (llama \&\& std::string(hf) != \"v_proj\")/if (false)/|e2e_convert"
  "bpe-bos-from-template-ignored|src/convert/tokenizer_bpe.cpp|s/            add_bos = true;/            (void)0;/|e2e_convert"
  "cut-off-node-keeps-engines|src/cluster/cluster_agent.cpp|s/^void ClusterAgent::fence() {$/void ClusterAgent::fence() { return;/|e2e_cluster"
  "refused-connection-not-retried|src/api/http_util.cpp|s/if (attempt == 2)$/if (attempt >= 0)/|e2e_cluster"
  "refusing-node-asked-again|src/cluster/cluster_agent.cpp|s/                moved.refused.insert(refusing);/                (void)0;/|e2e_cluster"
  "crash-in-repacked-kernels-not-retried|src/worker/repack_fallback.cpp|s/    return (sig == SIGILL/    return false \&\& (sig == SIGILL/|e2e_repack_fallback"
  "repack-fallback-forgotten|src/worker/repack_fallback.cpp|s/    if (!has(command, kTrial)) return;/    return;/|e2e_repack_fallback"
)

killed=0 survived=0
for m in "${mutants[@]}"; do
  IFS='|' read -r name file expr tests <<<"$m"
  [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
  cp "$file" "$file.orig"
  sed -i "$expr" "$file"
  if cmp -s "$file" "$file.orig"; then
    echo "mutant $name: the edit did not apply to $file (update this script)"; mv "$file.orig" "$file"; survived=$((survived + 1)); continue
  fi
  if ! cmake --build build --target xinfer -j "${XINFER_JOBS:-2}" >/dev/null 2>&1; then
    echo "mutant $name: does not compile (update this script)"; mv "$file.orig" "$file"; survived=$((survived + 1)); continue
  fi
  if (cd build && ctest -R "$tests" >/dev/null 2>&1); then
    echo "mutant $name: SURVIVED ($tests still pass)"; survived=$((survived + 1))
  else
    echo "mutant $name: killed by $tests"; killed=$((killed + 1))
  fi
  mv "$file.orig" "$file"
  touch "$file"  # newer than the mutant's object file, so the rebuild below takes the original
done
cmake --build build --target xinfer -j "${XINFER_JOBS:-2}" >/dev/null 2>&1
echo "mutants: $killed killed, $survived survived"
[ "$survived" -eq 0 ]
