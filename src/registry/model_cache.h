// What lies in xinfer's model cache (XINFER_HOME/cache/<model_name>/): one entry per model
// version, i.e. per GGUF (all parts of a split GGUF together), whisper.cpp file or model folder.
// Entries are named "<model_name>--<file or folder>", the model_version that removal takes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xinfer {

struct CachedModel {
    std::string model_name;     // the cache folder's name
    std::string model_version;  // "<model_name>--<entry>"
    std::string model_format;   // ggufv2, ggml (whisper.cpp), or the folder's format
    nlohmann::json model_size_in_billions;  // from the GGUF header; null when unknown
    std::string quantization;
    std::vector<std::filesystem::path> paths;  // every file or folder that belongs to it
    uint64_t size_bytes = 0;
    nlohmann::json source = nullptr;  // for downloaded files: hub, endpoint, repo, revision (the manifest's)
};

std::filesystem::path model_cache_dir();
// Hugging Face's own cache (HF_HUB_CACHE, or HF_HOME/hub, or ~/.cache/huggingface/hub), whose
// files launches use in place; empty when none is set and there is no HOME.
std::filesystem::path hf_hub_cache_dir();

// model_name empty: every model. Unreadable entries are skipped, never an error.
std::vector<CachedModel> list_cached_models(const std::string& model_name = "");

// Xinference's cached-model entry: model_name, model_size_in_billions, model_format, quantization,
// model_version, path, real_path, actor_ip_address, plus size_bytes, paths and, for downloaded
// files, hub, repo and revision.
nlohmann::json to_json(const CachedModel& m);

// Deletes the entry's files (and the model's folder once it is empty). Throws std::runtime_error.
void remove_cached_model(const CachedModel& m);

}  // namespace xinfer
