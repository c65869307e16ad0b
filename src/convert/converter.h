// Converts a Hugging Face model folder to one GGUF file, natively (no Python, no network):
// reads config and tokenizer, maps the weights, writes the GGUF one tensor at a time. Whisper
// folders become whisper.cpp's ggml model file instead (see whisper_ggml.h).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "convert/hf_folder.h"
#include "registry/gguf_info.h"
#include "registry/whisper_info.h"

namespace xinfer {

struct ConvertOptions {
    std::string outtype = "f16";  // f16, q8_0 or f32
    int threads = 0;              // 0: every core
};

struct ConvertResult {
    std::filesystem::path gguf;
    std::string architecture;  // the source's, e.g. "BertModel"
    std::string kind;          // "embedding", "rerank", "LLM" or "audio" (whisper)
    bool reused = false;       // an earlier conversion of the same source was found
    uint64_t bytes = 0;
    double seconds = 0;
};

// Progress 0..1 with a short note ("converting 12/200 tensors").
using ConvertProgress = std::function<void(double, const std::string&)>;

// Writes OUT (via OUT.incomplete, renamed at the end: a failure leaves nothing). Throws
// ConvertError for what cannot be converted, std::runtime_error for I/O failures.
ConvertResult convert_hf_folder(const std::filesystem::path& dir, const std::filesystem::path& out,
                                const ConvertOptions& options, const ConvertProgress& progress = {});

// The file name a conversion of DIR writes by default: model-OUTTYPE.gguf, or
// ggml-model-OUTTYPE.bin for whisper. Throws ConvertError when DIR has no usable config.json.
std::string converted_file_name(const std::filesystem::path& dir, const ConvertOptions& options);

// What a conversion will produce, checked without writing it: the whole plan is made (config,
// tokenizer, every tensor found and sized), so anything that cannot be converted is a
// ConvertError now, not halfway through. `info` describes the GGUF to be (its file_size is the
// planned size); `target` is where converted_from_cache puts it.
struct PlannedConversion {
    std::filesystem::path target;
    GgufInfo info;
    std::string architecture, kind;
    std::optional<WhisperHparams> whisper;  // set for whisper folders (info then holds only file_size)
};
PlannedConversion plan_cached_conversion(const std::filesystem::path& dir, const std::filesystem::path& cache_root,
                                         const std::string& name, const ConvertOptions& options);

// The cached conversion of DIR under CACHE_ROOT/<name>-<digest of the source>/model-<outtype>.gguf,
// made when absent, reused when present. Two launches of the same folder convert it once.
ConvertResult converted_from_cache(const std::filesystem::path& dir, const std::filesystem::path& cache_root,
                                   const std::string& name, const ConvertOptions& options,
                                   const ConvertProgress& progress = {});
// The same for a target path already planned (plan_cached_conversion's `target`).
ConvertResult converted_into(const std::filesystem::path& dir, const std::filesystem::path& target,
                             const ConvertOptions& options, const ConvertProgress& progress = {});

}  // namespace xinfer
