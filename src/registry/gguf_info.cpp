#include "registry/gguf_info.h"

#include <ggml.h>
#include <gguf.h>

#include <cmath>
#include <regex>

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
    if (const int64_t tokens = gguf_find_key(ctx, "tokenizer.ggml.tokens"); tokens >= 0 && gguf_get_kv_type(ctx, tokens) == GGUF_TYPE_ARRAY)
        info.vocab_size = static_cast<int64_t>(gguf_get_arr_n(ctx, tokens));
    const int64_t audio = gguf_find_key(ctx, "clip.has_audio_encoder");
    info.has_audio_encoder = audio >= 0 && gguf_get_kv_type(ctx, audio) == GGUF_TYPE_BOOL && gguf_get_val_bool(ctx, audio);
    const int64_t gen = gguf_find_key(ctx, "clip.has_gen_audio_encoder");
    info.has_audio_generator = gen >= 0 && gguf_get_kv_type(ctx, gen) == GGUF_TYPE_BOOL && gguf_get_val_bool(ctx, gen);
    info.size_label = get_str(ctx, "general.size_label");
    info.file_type = get_int(ctx, "general.file_type", -1);
    for (int64_t t = 0; t < gguf_get_n_tensors(ctx); ++t) {
        const ggml_type type = gguf_get_tensor_type(ctx, t);
        info.parameter_count += gguf_get_tensor_size(ctx, t) / ggml_type_size(type) * ggml_blck_size(type);
    }
    gguf_free(ctx);
    info.file_size = std::filesystem::file_size(path, ec);
    return info;
}

namespace {
// 7 → 7, 0.5 → "0_5", 1.5 → "1_5": Xinference writes fractional sizes with an underscore.
nlohmann::json xinference_size(double billions) {
    if (billions >= 10 || std::fabs(billions - std::round(billions)) < 1e-9) {
        if (std::round(billions) >= 1) return static_cast<int64_t>(std::round(billions));
    }
    char buf[32];
    // Two significant digits below one billion (0.5, 0.06), one decimal above.
    if (billions >= 1) std::snprintf(buf, sizeof buf, "%.1f", billions);
    else std::snprintf(buf, sizeof buf, "%.*f", std::max(1, 1 - static_cast<int>(std::floor(std::log10(billions)))), billions);
    std::string s = buf;
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    for (auto& c : s)
        if (c == '.') c = '_';
    return s;
}
}  // namespace

nlohmann::json size_in_billions(const GgufInfo& info) {
    static const std::regex label(R"(^(\d+(?:\.\d+)?)([BMK])$)", std::regex::icase);
    std::smatch m;
    if (std::regex_match(info.size_label, m, label)) {
        double v = std::stod(m[1]);
        char unit = static_cast<char>(std::toupper(m[2].str()[0]));
        return xinference_size(unit == 'B' ? v : unit == 'M' ? v / 1e3 : v / 1e6);
    }
    if (info.parameter_count == 0) return nullptr;
    return xinference_size(static_cast<double>(info.parameter_count) / 1e9);
}

std::string quantization_name(int64_t t) {
    static const char* names[] = {"F32", "F16", "Q4_0", "Q4_1", "", "", "", "Q8_0", "Q5_0", "Q5_1", "Q2_K",
                                  "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K",
                                  "IQ2_XXS", "IQ2_XS", "Q2_K_S", "IQ3_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",
                                  "IQ3_M", "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M", "BF16", "", "", "", "TQ1_0", "TQ2_0",
                                  "MXFP4_MOE", "NVFP4", "Q1_0", "Q2_0"};
    if (t < 0 || t >= static_cast<int64_t>(std::size(names))) return "";
    return names[t];
}

}  // namespace xinfer
