// A Hugging Face / ModelScope model folder as users keep it: config.json, weights
// (model.safetensors, sharded or not, or pytorch_model.bin) and tokenizer files.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace xinfer {

// What cannot be converted, and why; the API turns it into a 400.
struct ConvertError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct HfFolder {
    std::filesystem::path dir;
    nlohmann::json config;            // config.json
    nlohmann::json tokenizer_config;  // tokenizer_config.json, or {} when absent
    std::string architecture;         // config.architectures[0], e.g. "BertModel"
    std::string model_type;           // config.model_type, e.g. "bert", "xlm-roberta", "qwen2"

    bool has(const std::string& file) const { return std::filesystem::exists(dir / file); }
    // Reads a JSON file of the folder; ConvertError naming it when it is not valid JSON.
    nlohmann::json read_json(const std::string& file) const;
    // A special token's text ("cls_token", "eos_token", …) from tokenizer_config.json, else
    // special_tokens_map.json (a string or an AddedToken object); `fallback` when neither has it.
    std::string special_token(const std::string& key, const std::string& fallback) const;
};

// True when `dir` is a folder with config.json and weights in a format the converter reads.
bool looks_like_hf_folder(const std::filesystem::path& dir);

// Reads config.json and tokenizer_config.json. Throws ConvertError when config.json is missing
// or malformed, or names no architecture.
HfFolder read_hf_folder(const std::filesystem::path& dir);

// A short hex digest of the folder's model files (names, sizes, modification times): the
// conversion cache key. A changed source gives a new digest and so converts again.
std::string source_digest(const std::filesystem::path& dir);

}  // namespace xinfer
