// What every engine on libllama + libmtmd in the model host does once: ggml's backends loaded
// (a CUDA build ships them as plugins), and llama.cpp's logging cut to errors (the host's log is
// one line per event, not llama.cpp's load report).
#pragma once

#include <llama.h>

namespace xinfer {

void init_llama_runtime();

// Model parameters for the host's engines: all layers on the GPU or none, and llama.cpp's
// weight repacking unless LLAMA_ARG_REPACK turns it off, as it does for llama-server (xinfer sets
// it where repacked AMX kernels fault: worker/repack_fallback.h).
llama_model_params host_model_params(bool use_gpu);

}  // namespace xinfer
