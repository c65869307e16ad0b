// What xinfer needs to know about a GGUF file before launching it, read from its header only
// (no weights loaded): architecture, trained context, embedding width, layer count, size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace xinfer {

struct GgufInfo {
    std::string architecture;     // general.architecture, e.g. "llama", "qwen2", "bert"
    std::string name;             // general.name (may be empty)
    int64_t context_length = 0;   // <arch>.context_length
    int64_t embedding_length = 0; // <arch>.embedding_length
    int64_t block_count = 0;      // <arch>.block_count
    int64_t head_count_kv = 0;    // <arch>.attention.head_count_kv (or head_count)
    int64_t head_count = 0;
    int64_t pooling_type = -1;    // <arch>.pooling_type, -1 when absent
    bool has_chat_template = false;
    // Its chat template refuses a system message anywhere but first (Qwen3-style guard; what
    // Xinference reports as strict_system_first).
    bool chat_template_system_first = false;
    int64_t vocab_size = 0;       // entries in tokenizer.ggml.tokens (0 when it has none)
    bool has_audio_encoder = false; // clip.has_audio_encoder: a projector (mmproj) that takes audio
    bool has_audio_generator = false; // clip.has_gen_audio_encoder: one that makes speech (Qwen3-TTS)
    uint64_t file_size = 0;
    uint64_t projector_size = 0;  // llama.cpp's audio models: the mmproj beside the model (also in file_size)
    std::string size_label;       // general.size_label, e.g. "7B", "0.5B", "8x7B" (may be empty)
    int64_t file_type = -1;       // general.file_type: llama.cpp's ftype (quantization), -1 absent
    uint64_t parameter_count = 0; // elements in all tensors of this file
};

// Xinference's spelling of a model size in billions (7, "0_5", "1_5"), from the size label or,
// failing that, the parameter count; null when neither is known.
nlohmann::json size_in_billions(const GgufInfo& info);
// The quantization name llama.cpp gives the file type ("Q4_K_M", "F16"); empty when unknown.
std::string quantization_name(int64_t file_type);

// Throws std::runtime_error with a user-readable reason: missing file, not a GGUF, unreadable.
GgufInfo read_gguf_info(const std::filesystem::path& path);

// True when the first four bytes are the GGUF magic.
bool looks_like_gguf(const std::filesystem::path& path);

}  // namespace xinfer
