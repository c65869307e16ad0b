// How a speech model becomes an `xinfer-host host` command line, and an embedding or rerank model
// an `xinfer-encoder host` one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engines/llama_server/llama_server_command.h"
#include "registry/model_resolver.h"

namespace xinfer {

// Engine options: `concurrency` (decoder states; default 2) and `n_threads`. Others are a 400.
// `use_gpu`: placement gave the replica a GPU (whisper computes there when the build has CUDA).
EngineCommand model_host_command(const ResolvedModel& model, const nlohmann::json& engine_options,
                                 const std::string& listen, bool use_gpu = false);

// Embedding and rerank GGUFs run in the model host on libllama (engines llama-embedding and
// llama-rerank), unless the launch passes an engine option only llama-server has (pooling aside,
// those are llama-server's own tuning: the user asked for it), or XINFER_ENCODER_ENGINE=llama-server.
bool runs_in_encoder_host(const ResolvedModel& model, const nlohmann::json& engine_options);
// Options: n_threads, n_ctx / context_length (the longest input, in tokens).
EngineCommand encoder_host_command(const ResolvedModel& model, const nlohmann::json& engine_options,
                                   const std::string& listen, bool use_gpu = false, int spare_threads = 0);

}  // namespace xinfer
