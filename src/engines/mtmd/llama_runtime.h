// What every engine on libllama + libmtmd in the model host does once: ggml's backends loaded
// (a CUDA build ships them as plugins), and llama.cpp's logging cut to errors (the host's log is
// one line per event, not llama.cpp's load report).
#pragma once

namespace xinfer {

void init_llama_runtime();

}  // namespace xinfer
