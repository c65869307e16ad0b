// Getting a catalog model's files into the model cache (XINFER_HOME/cache/<model_name>/): which
// files a launch needs (the GGUF of the chosen quantization, all parts of a split GGUF, a whisper
// .bin), from which hub and mirror, and fetching them once even when two launches ask at once.
// A manifest (.xinfer-download.json) records hub, repository, revision and each file's size and
// SHA-256 for `cached` and `/v1/cache/models`.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hub/hub_api.h"

namespace xinfer {

struct DownloadPlan {
    std::string model_name, quantization;
    RepoListing listing;            // hub, endpoint, repo, revision
    std::vector<HubFile> files;     // what the launch needs, in order
    std::filesystem::path dir;      // the model's cache folder
    std::filesystem::path main_file;  // what the engine loads (a split GGUF's first part)
    // A Hugging Face folder (config, tokenizer, weights; a spec source that names no file): its
    // files keep their paths inside dir, main_file is dir, and xinfer converts it after download.
    bool folder = false;
    uint64_t total_bytes = 0;
    uint64_t missing_bytes() const;  // bytes not yet in the cache
    std::filesystem::path local_path(const HubFile& f) const;  // where f goes in the cache
};

// The file names a spec entry's source block names for `quantization` (its model_file_name,
// or model_file_name_template, with model_file_name_split_template and quantization_parts for
// split GGUFs). Empty when the source names no file.
std::vector<std::string> files_for_quantization(const nlohmann::json& source, const std::string& quantization);

// The files of a Hugging Face repository that make a model folder xinfer can convert: config and
// tokenizer files, the weights (safetensors, or PyTorch .bin when there are none) and
// sentence-transformers' module folders (1_Pooling/...); not ONNX, OpenVINO, TF or Flax copies.
std::vector<HubFile> hf_folder_files(const std::vector<HubFile>& repo_files);

// The catalog's spelling of a quantization the user typed in any case ("Q4_K_M" -> "q4_k_m");
// the first of the source's quantizations when `wanted` is empty; `wanted` when none matches.
std::string match_quantization(const nlohmann::json& source, const std::string& wanted);

// Plans the download of a spec entry's files: picks the hub (download_hub, see hub_order),
// lists the repository and checks that every needed file is there. Throws FetchError (no hub
// reachable, gated, not found) or std::runtime_error (offline mode, file missing from the repo)
// with a message for the user; never opens a connection in offline mode.
DownloadPlan plan_model_download(const std::string& model_name, const nlohmann::json& spec_entry, const std::string& quantization,
                                 const std::string& download_hub, const std::filesystem::path& cache_root);

// Bytes done so far of the plan's total.
using DownloadProgress = std::function<void(uint64_t done, uint64_t total)>;

// Fetches what is missing (checking free disk space first), verifying each file, then writes
// the manifest. Two callers with the same plan (threads or processes) download once: the second
// waits for the first and then finds the files there. `cancel` stops it, leaving no partial file.
void run_model_download(const DownloadPlan& plan, const DownloadProgress& progress, const std::atomic<bool>* cancel);

// Writes the first `bytes` of a planned download's main file (a ranged request) to `scratch`:
// enough of a GGUF (16 MiB covers the largest vocabularies) or whisper file to read its header,
// so a launch can be planned before the weights arrive.
void fetch_file_head(const DownloadPlan& plan, const std::filesystem::path& scratch, uint64_t bytes);

}  // namespace xinfer
