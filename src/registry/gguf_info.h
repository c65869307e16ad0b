// What xinfer needs to know about a GGUF file before launching it, read from its header only
// (no weights loaded): architecture, trained context, embedding width, layer count, size.
#pragma once

#include <cstdint>
#include <filesystem>
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
    uint64_t file_size = 0;
};

// Throws std::runtime_error with a user-readable reason: missing file, not a GGUF, unreadable.
GgufInfo read_gguf_info(const std::filesystem::path& path);

// True when the first four bytes are the GGUF magic.
bool looks_like_gguf(const std::filesystem::path& path);

}  // namespace xinfer
