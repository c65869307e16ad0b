#include "convert/hf_folder.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

json HfFolder::read_json(const std::string& file) const {
    std::ifstream in(dir / file);
    if (!in) throw ConvertError(file + " is missing from " + dir.string());
    try {
        return json::parse(in);
    } catch (const std::exception& e) {
        throw ConvertError(file + " in " + dir.string() + " is not valid JSON: " + e.what());
    }
}

std::string HfFolder::special_token(const std::string& key, const std::string& fallback) const {
    const json map = has("special_tokens_map.json") ? read_json("special_tokens_map.json") : json::object();
    for (const json* src : {&tokenizer_config, &map}) {
        if (!src->is_object() || !src->contains(key)) continue;
        const json& v = (*src)[key];
        if (v.is_string()) return v;
        if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"];
    }
    return fallback;
}

bool looks_like_hf_folder(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec) || !fs::exists(dir / "config.json", ec)) return false;
    return fs::exists(dir / "model.safetensors", ec) || fs::exists(dir / "model.safetensors.index.json", ec) ||
           fs::exists(dir / "pytorch_model.bin", ec) || fs::exists(dir / "pytorch_model.bin.index.json", ec);
}

HfFolder read_hf_folder(const fs::path& dir) {
    HfFolder f;
    f.dir = dir;
    f.config = f.read_json("config.json");
    if (!f.config.is_object()) throw ConvertError("config.json in " + dir.string() + " is not a JSON object");
    if (f.has("tokenizer_config.json")) f.tokenizer_config = f.read_json("tokenizer_config.json");
    if (!f.tokenizer_config.is_object()) f.tokenizer_config = json::object();
    auto archs = f.config.value("architectures", json::array());
    if (archs.is_array() && !archs.empty() && archs[0].is_string()) f.architecture = archs[0];
    f.model_type = f.config.value("model_type", "");
    if (f.architecture.empty() && f.model_type.empty())
        throw ConvertError("config.json in " + dir.string() + " names no architecture (\"architectures\" or \"model_type\")");
    return f;
}

std::string source_digest(const fs::path& dir) {
    // FNV-1a over what identifies each file; contents are not read (models are gigabytes).
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](const std::string& s) {
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    };
    std::vector<fs::path> files;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file(ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (auto& p : files) {
        mix(p.filename().string());
        mix(std::to_string(fs::file_size(p, ec)));
        mix(std::to_string(fs::last_write_time(p, ec).time_since_epoch().count()));
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return std::string(out, 12);
}

}  // namespace xinfer
