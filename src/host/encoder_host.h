// The encoder host (`xinfer-encoder host --engine llama-embedding|llama-rerank`): an embedding or
// rerank model on libllama, in a program that links none of the speech engines' libraries
// (ffmpeg, flite's voices, pocketsphinx, whisper.cpp): about 30 MB less resident memory for each
// embedding or rerank replica than in xinfer-host.
#pragma once

#include <memory>

#include "engines/llama_encoder/llama_encoder.h"
#include "host/model_host.h"

namespace xinfer {

// True for the engines an encoder host serves (llama-embedding, llama-rerank).
bool is_encoder_engine(const std::string& engine);

// The encoder the options name; throws std::runtime_error for a missing model path.
std::unique_ptr<LlamaEncoder> load_encoder(const HostOptions& options);

// Serves one embedding or rerank model until SIGTERM; returns the process exit code.
int run_encoder_host(const HostOptions& options);

}  // namespace xinfer
