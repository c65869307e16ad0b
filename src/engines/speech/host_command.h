// How a speech model becomes a `xinfer host` command line (the model host is this same binary).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engines/llama_server/llama_server_command.h"
#include "registry/model_resolver.h"

namespace xinfer {

// Engine options: `concurrency` (decoder states; default 2). Others are a 400.
EngineCommand model_host_command(const ResolvedModel& model, const nlohmann::json& engine_options,
                                 const std::string& listen);

}  // namespace xinfer
