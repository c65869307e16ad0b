#include "registry/gguf_info.h"

#include "registry/gguf_header.h"

#include <algorithm>

#include <cctype>
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

GgufInfo read_gguf_info(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw std::runtime_error("model file not found: " + path.string());
    if (std::filesystem::is_directory(path, ec))
        throw std::runtime_error("model path is a directory, not a GGUF file: " + path.string());
    const GgufHeader h = read_gguf_header(path);
    auto integer = [&](const std::string& key, int64_t fallback) {
        auto it = h.integers.find(key);
        return it == h.integers.end() ? fallback : it->second;
    };
    auto string = [&](const std::string& key) {
        auto it = h.strings.find(key);
        return it == h.strings.end() ? std::string() : it->second;
    };
    GgufInfo info;
    info.architecture = string("general.architecture");
    info.name = string("general.name");
    const std::string a = info.architecture + ".";
    info.context_length = integer(a + "context_length", 0);
    info.embedding_length = integer(a + "embedding_length", 0);
    info.block_count = integer(a + "block_count", 0);
    info.head_count = integer(a + "attention.head_count", 0);
    info.head_count_kv = integer(a + "attention.head_count_kv", info.head_count);
    info.pooling_type = integer(a + "pooling_type", -1);
    info.has_chat_template = h.strings.count("tokenizer.chat_template") > 0;
    std::string tmpl = string("tokenizer.chat_template");
    std::transform(tmpl.begin(), tmpl.end(), tmpl.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    info.chat_template_system_first = tmpl.find("system message must be at the beginning") != std::string::npos;
    if (auto it = h.array_lengths.find("tokenizer.ggml.tokens"); it != h.array_lengths.end())
        info.vocab_size = static_cast<int64_t>(std::min<uint64_t>(it->second, INT64_MAX));
    auto flag = [&](const std::string& key) {
        auto it = h.booleans.find(key);
        return it != h.booleans.end() && it->second;
    };
    info.has_audio_encoder = flag("clip.has_audio_encoder");
    info.has_audio_generator = flag("clip.has_gen_audio_encoder");
    info.size_label = string("general.size_label");
    info.file_type = integer("general.file_type", -1);
    info.parameter_count = h.parameter_count;
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
