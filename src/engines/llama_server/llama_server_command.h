// How a GGUF text model becomes a llama-server command line: the flags that fit the model type
// (chat/completion, embedding, rerank), sensible context/slot/thread defaults, and the
// Xinference-style engine options a user may pass at launch (n_ctx, n_parallel, ...).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/model_resolver.h"

namespace xinfer {

struct EngineCommand {
    std::vector<std::string> argv;
    std::vector<std::string> env;
};

struct LlamaServerSettings {
    std::string binary;       // llama-server path
    std::string listen;       // a unix socket path ending in .sock, or "127.0.0.1:PORT"
    int threads = 0;          // 0: all cores
    bool use_gpu = false;     // offload layers (placement chose GPUs); false: CPU only
};

// Throws ApiError 400 for an engine option xinfer does not know or a value of the wrong type.
EngineCommand llama_server_command(const ResolvedModel& model, const nlohmann::json& engine_options,
                                   const LlamaServerSettings& settings);

// The llama-server binary: $XINFER_LLAMA_SERVER, else beside the xinfer binary.
std::string find_llama_server();

// Context size used when the user gives none: the model's own, capped to keep CPU memory modest.
int default_context_size(const GgufInfo& gguf);

}  // namespace xinfer
