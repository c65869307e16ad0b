// How a speech model becomes a `xinfer host` command line (the model host is this same binary).
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

}  // namespace xinfer
