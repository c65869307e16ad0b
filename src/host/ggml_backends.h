// ggml's compute backends for the model host's engines (whisper.cpp, libllama, libmtmd).
#pragma once

namespace xinfer {

// Makes ggml's backends available to this process, once; every engine calls it before loading a
// model. A CPU-only llama.cpp build links its CPU backend in and nothing is loaded. A CUDA build
// (scripts/deps-llama.sh) ships every backend as a plugin: they are looked for beside this
// program first (an offline bundle puts them there, as ggml itself does for llama-server), then
// in the llama.cpp build xinfer was compiled against. Writes one line to stderr, the engine's
// log, naming the devices found ("ggml devices: CUDA0 NVIDIA H200 140 GiB, CPU ..."), so the log
// says whether a replica could compute on a GPU.
void load_ggml_backends();

}  // namespace xinfer
