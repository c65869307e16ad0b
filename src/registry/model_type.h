// The kinds of model xinfer serves, spelled as Xinference spells them in URLs and bodies.
#pragma once

#include <optional>
#include <string>

namespace xinfer {

enum class ModelType { llm, embedding, rerank, audio, image };

std::string to_string(ModelType t);                        // "LLM", "embedding", ...
std::optional<ModelType> parse_model_type(const std::string& s);  // case-insensitive

}  // namespace xinfer
