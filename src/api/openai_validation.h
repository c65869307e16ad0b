// Checks OpenAI request bodies before they reach an engine, so that malformed input gets a
// clear 400 naming the field (an engine's own message is often vaguer, or a 500).
#pragma once

#include <nlohmann/json.hpp>

namespace xinfer {

void validate_chat_request(const nlohmann::json& body);
void validate_completion_request(const nlohmann::json& body);
void validate_embedding_request(const nlohmann::json& body);
void validate_rerank_request(const nlohmann::json& body);
// Fields both share: model, stream, max_tokens, temperature, top_p, n, stop, seed, ...
void validate_sampling_fields(const nlohmann::json& body);

}  // namespace xinfer
