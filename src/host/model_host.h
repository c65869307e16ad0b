// `xinfer host`: the process that serves one speech, embedding or rerank model replica. It loads
// one engine and answers OpenAI's audio endpoints (or llama-server's embedding and rerank ones) on
// a private unix socket (or loopback port), exactly as llama-server does for chat models, so the
// supervisor treats both alike.
#pragma once

#include <string>

namespace xinfer {

struct HostOptions {
    std::string engine;      // pocketsphinx | whisper | mtmd | mtmd-tts | flite | espeak | llama-embedding | llama-rerank
    std::string listen;      // /path.sock or 127.0.0.1:PORT
    std::string model_path;  // engine model folder (pocketsphinx) when not the default
    std::string projector;   // mtmd: the audio projector GGUF (mmproj) beside the text model
    int concurrency = 2;     // requests decoded at once (decoder states)
    int threads = 0;         // compute threads per request (whisper); 0 = all cores
    int context = 0;         // llama-embedding/-rerank: longest input in tokens (0 = the model's, at most 8192)
    bool use_gpu = false;    // whisper: compute on the GPU when ggml has one (CUDA build)
    int spare_threads = 0;   // llama-embedding/-rerank: a lane on idle cycles beyond `threads` (0 or 1)
};

// Serves until SIGTERM; returns the process exit code.
int run_model_host(const HostOptions& options);

}  // namespace xinfer
