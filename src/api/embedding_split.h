// Splits the engine's answer to a merged /v1/embeddings call into each request's own answer, on
// the bytes: the vectors (JSON floats or base64) are copied as they are, never parsed into
// numbers and printed again. Each request gets its items re-indexed from 0, and usage from the
// per-item token counts (scripts/llama-patches/embeddings-tokens-per-item.patch).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace xinfer {

struct SplitAnswer {
    std::string body;
    long long tokens = 0;  // its usage
};

// `counts[k]` items belong to request k, in order; `model_json` is the "model" value (JSON text)
// to answer with. Throws std::runtime_error when the answer is not the shape llama-server gives.
std::vector<SplitAnswer> split_embedding_answer(std::string_view answer, const std::vector<size_t>& counts,
                                                const std::string& model_json);

}  // namespace xinfer
