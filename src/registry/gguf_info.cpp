#include "registry/gguf_info.h"

#include <gguf.h>

#include <fstream>
#include <stdexcept>

namespace xinfer {

bool looks_like_gguf(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

namespace {
int64_t get_int(const gguf_context* ctx, const std::string& key, int64_t fallback) {
    int64_t id = gguf_find_key(ctx, key.c_str());
    if (id < 0) return fallback;
    switch (gguf_get_kv_type(ctx, id)) {
        case GGUF_TYPE_UINT8: return gguf_get_val_u8(ctx, id);
        case GGUF_TYPE_INT8: return gguf_get_val_i8(ctx, id);
        case GGUF_TYPE_UINT16: return gguf_get_val_u16(ctx, id);
        case GGUF_TYPE_INT16: return gguf_get_val_i16(ctx, id);
        case GGUF_TYPE_UINT32: return gguf_get_val_u32(ctx, id);
        case GGUF_TYPE_INT32: return gguf_get_val_i32(ctx, id);
        case GGUF_TYPE_UINT64: return static_cast<int64_t>(gguf_get_val_u64(ctx, id));
        case GGUF_TYPE_INT64: return gguf_get_val_i64(ctx, id);
        default: return fallback;
    }
}
std::string get_str(const gguf_context* ctx, const char* key) {
    int64_t id = gguf_find_key(ctx, key);
    if (id < 0 || gguf_get_kv_type(ctx, id) != GGUF_TYPE_STRING) return "";
    return gguf_get_val_str(ctx, id);
}
}  // namespace

GgufInfo read_gguf_info(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw std::runtime_error("model file not found: " + path.string());
    if (std::filesystem::is_directory(path, ec))
        throw std::runtime_error("model path is a directory, not a GGUF file: " + path.string());
    if (!looks_like_gguf(path))
        throw std::runtime_error("not a GGUF file (bad magic): " + path.string());
    gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
    gguf_context* ctx = gguf_init_from_file(path.c_str(), params);
    if (!ctx) throw std::runtime_error("GGUF header is corrupt or truncated: " + path.string());
    GgufInfo info;
    info.architecture = get_str(ctx, "general.architecture");
    info.name = get_str(ctx, "general.name");
    const std::string a = info.architecture + ".";
    info.context_length = get_int(ctx, a + "context_length", 0);
    info.embedding_length = get_int(ctx, a + "embedding_length", 0);
    info.block_count = get_int(ctx, a + "block_count", 0);
    info.head_count = get_int(ctx, a + "attention.head_count", 0);
    info.head_count_kv = get_int(ctx, a + "attention.head_count_kv", info.head_count);
    info.pooling_type = get_int(ctx, a + "pooling_type", -1);
    info.has_chat_template = gguf_find_key(ctx, "tokenizer.chat_template") >= 0;
    gguf_free(ctx);
    info.file_size = std::filesystem::file_size(path, ec);
    return info;
}

}  // namespace xinfer
