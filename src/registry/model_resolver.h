// Turns "launch model X with these choices" into one GGUF file on disk plus the spec it came
// from: by catalog name with model_path, by a registered spec's model_uri, by model_path alone,
// or from the local model cache (XINFER_HOME/cache/<model_name>/).
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "hub/model_download.h"
#include "registry/gguf_info.h"
#include "registry/model_type.h"
#include "registry/registry.h"
#include "registry/whisper_info.h"

namespace xinfer {

struct ModelChoice {
    std::string model_name;   // may be empty when model_path is given
    std::optional<ModelType> model_type;
    std::string model_format, model_size_in_billions, quantization;
    std::string model_path;
    std::string download_hub;  // for catalog models not in the cache: where to fetch them
};

struct ResolvedModel {
    ModelType type = ModelType::llm;
    std::string model_name;
    json spec;                       // the family spec (null when launched by path alone)
    json ability = json::array();    // e.g. ["chat","tools"]
    std::filesystem::path file;      // the GGUF to serve
    // llama.cpp's audio models (engine mtmd): the audio projector GGUF (mmproj) beside `file`.
    std::filesystem::path projector;
    // A Hugging Face folder `file` is converted from before the first start (empty: none).
    std::filesystem::path convert_from;
    // Catalog files not in the cache yet: fetched into the cache before the first start.
    std::shared_ptr<DownloadPlan> download;
    // The download is a Hugging Face folder (`file` is that folder): its conversion is planned
    // once it is here (plan_conversion_after_download), then made like convert_from's.
    bool convert_after_download = false;
    GgufInfo gguf;                   // file_size is set for every file-backed model
    std::optional<WhisperHparams> whisper;  // whisper.cpp models whose header could be read
    std::string model_format, model_size_in_billions, quantization;
    std::string engine = "llama.cpp";  // or a speech engine: whisper, mtmd, pocketsphinx, flite, espeak
};

// Throws ApiError: 404 unknown model name with no path; 400 missing/invalid file with reason.
ResolvedModel resolve_model(const Registry& registry, const ModelChoice& choice);

// The download of a catalog (or registered) model's files for these choices, planned without
// launching: what `xinfer download` fetches. Throws ApiError (404 unknown name, 400 no such
// file or hub, 503 no hub reachable).
DownloadPlan plan_catalog_download(const Registry& registry, const ModelChoice& choice);

// For a model whose Hugging Face folder was just downloaded: plans its conversion (sets
// convert_from, file, gguf, whisper). Throws std::runtime_error when it cannot be converted or
// is not the kind of model it was launched as.
void plan_conversion_after_download(ResolvedModel& r);

// The GGUF to use inside a directory (quantization preferred when given; split models' first
// part; projector files skipped). Throws std::runtime_error when none is there.
std::filesystem::path find_gguf_in_dir(const std::filesystem::path& dir, const std::string& quantization);

// The audio projector (a GGUF of llama.cpp's "clip" architecture with an audio encoder: an
// mmproj file) inside a directory; empty when none.
std::filesystem::path find_audio_projector(const std::filesystem::path& dir);

// The whisper.cpp model (a ggml file with whisper's header) inside a directory; empty when none.
std::filesystem::path find_whisper_file(const std::filesystem::path& dir);

}  // namespace xinfer
