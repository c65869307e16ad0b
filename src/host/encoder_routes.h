// The model host's routes for an embedding or rerank model, in llama-server's request and answer
// shapes (the gateway speaks to both engines alike): POST /v1/embeddings, /v1/rerank, /tokenize,
// /detokenize. Floats are written in their shortest exact form straight into the answer text.
#pragma once

#include <httplib.h>

#include "engines/llama_encoder/llama_encoder.h"

namespace xinfer {

void add_encoder_routes(httplib::Server& server, LlamaEncoder& encoder);

}  // namespace xinfer
