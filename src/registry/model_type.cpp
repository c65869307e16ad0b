#include "registry/model_type.h"

#include <algorithm>

namespace xinfer {

std::string to_string(ModelType t) {
    switch (t) {
        case ModelType::llm: return "LLM";
        case ModelType::embedding: return "embedding";
        case ModelType::rerank: return "rerank";
        case ModelType::audio: return "audio";
        case ModelType::image: return "image";
    }
    return "LLM";
}

std::optional<ModelType> parse_model_type(const std::string& s) {
    std::string l = s;
    std::transform(l.begin(), l.end(), l.begin(), ::tolower);
    if (l == "llm") return ModelType::llm;
    if (l == "embedding") return ModelType::embedding;
    if (l == "rerank") return ModelType::rerank;
    if (l == "audio") return ModelType::audio;
    if (l == "image") return ModelType::image;
    return std::nullopt;
}

}  // namespace xinfer
