#include "registry/model_cache.h"

#include <cstdlib>
#include "common/text.h"

#include <algorithm>
#include <fstream>
#include <regex>

#include "common/paths.h"
#include "registry/gguf_info.h"
#include "registry/whisper_info.h"

namespace xinfer {

namespace fs = std::filesystem;

fs::path model_cache_dir() { return xinfer_home() / "cache"; }

fs::path hf_hub_cache_dir() {
    if (const char* c = std::getenv("HF_HUB_CACHE")) return c;
    if (const char* h = std::getenv("HF_HOME")) return fs::path(h) / "hub";
    if (const char* home = std::getenv("HOME")) return fs::path(home) / ".cache" / "huggingface" / "hub";
    return {};
}

namespace {

uint64_t bytes_under(const fs::path& p) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return fs::file_size(p, ec);
    uint64_t total = 0;
    for (auto& e : fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec))
        if (e.is_regular_file(ec)) total += e.file_size(ec);
    return total;
}

// The entries of one model's cache folder.
void scan_model_dir(const fs::path& dir, std::vector<CachedModel>& out) {
    static const std::regex split_part(R"(^(.*)-(\d{5})-of-(\d{5})\.gguf$)", std::regex::icase);
    const std::string name = dir.filename().string();
    std::vector<fs::path> entries;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e.path());
    // What downloads recorded (hub_api / model_download): one record per model file.
    nlohmann::json manifest = nlohmann::json::object();
    if (fs::exists(dir / ".xinfer-download.json", ec)) {
        manifest = nlohmann::json::parse(std::ifstream(dir / ".xinfer-download.json"), nullptr, false);
        if (!manifest.is_object()) manifest = nlohmann::json::object();
    }
    std::sort(entries.begin(), entries.end());
    for (auto& p : entries) {
        const std::string file = p.filename().string();
        if (file.empty() || file[0] == '.' || lower(file).ends_with(".incomplete")) continue;
        CachedModel m;
        m.model_name = name;
        std::smatch sm;
        if (fs::is_directory(p, ec)) {
            m.model_format = fs::exists(p / "config.json", ec) ? "pytorch" : "folder";
            m.paths = {p};
        } else if (lower(file).ends_with(".gguf")) {
            if (lower(file).find("mmproj") != std::string::npos) continue;  // belongs to its model
            if (std::regex_match(file, sm, split_part)) {
                if (sm[2] != "00001") continue;  // the first part stands for all of them
                const std::string total = sm[3];
                for (int i = 1; i <= std::stoi(total); ++i) {
                    char part[16];
                    std::snprintf(part, sizeof part, "%05d", i);
                    fs::path pp = dir / (sm[1].str() + "-" + part + "-of-" + total + ".gguf");
                    if (fs::exists(pp, ec)) m.paths.push_back(pp);
                }
            } else {
                m.paths = {p};
            }
            m.model_format = "ggufv2";
            try {
                GgufInfo info = read_gguf_info(p);
                m.model_size_in_billions = size_in_billions(info);
                m.quantization = quantization_name(info.file_type);
            } catch (const std::exception&) {
            }
        } else if (read_whisper_hparams(p)) {
            m.model_format = "ggml";
            m.paths = {p};
        } else {
            continue;  // not a model file (a README, a config copied beside a GGUF)
        }
        m.model_version = name + "--" + file;
        if (manifest.contains(file) && manifest[file].is_object()) {
            const nlohmann::json& r = manifest[file];
            m.source = {{"hub", r.value("hub", "")}, {"endpoint", r.value("endpoint", "")}, {"repo", r.value("repo", "")},
                        {"revision", r.value("revision", "")}};
        }
        for (auto& q : m.paths) m.size_bytes += bytes_under(q);
        out.push_back(std::move(m));
    }
}

}  // namespace

std::vector<CachedModel> list_cached_models(const std::string& model_name) {
    std::vector<CachedModel> out;
    std::error_code ec;
    const fs::path root = model_cache_dir();
    if (!fs::is_directory(root, ec)) return out;
    std::vector<fs::path> dirs;
    for (auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory(ec) && (model_name.empty() || e.path().filename() == model_name)) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (auto& d : dirs) {
        if (d.filename() == "converted") continue;
        scan_model_dir(d, out);
    }
    // Conversions of Hugging Face folders (cache/converted/<name>-<digest>/): listed under the
    // model's name, with the folder they came from.
    const fs::path converted = root / "converted";
    std::vector<fs::path> conversions;
    if (fs::is_directory(converted, ec))
        for (auto& e : fs::directory_iterator(converted, ec))
            if (e.is_directory(ec)) conversions.push_back(e.path());
    std::sort(conversions.begin(), conversions.end());
    for (auto& c : conversions) {
        const std::string folder = c.filename().string();
        const auto dash = folder.rfind('-');
        const std::string name = dash == std::string::npos ? folder : folder.substr(0, dash);
        if (!model_name.empty() && name != model_name) continue;
        const size_t first = out.size();
        scan_model_dir(c, out);
        nlohmann::json origin = nullptr;
        if (fs::exists(c / ".xinfer-converted.json", ec))
            origin = nlohmann::json::parse(std::ifstream(c / ".xinfer-converted.json"), nullptr, false);
        for (size_t i = first; i < out.size(); ++i) {
            out[i].model_name = name;
            out[i].model_version = "converted--" + folder + "--" + out[i].paths.front().filename().string();
            if (origin.is_object())
                out[i].source = {{"converted_from", origin.value("source", "")}, {"architecture", origin.value("architecture", "")}};
        }
    }
    return out;
}

nlohmann::json to_json(const CachedModel& m) {
    nlohmann::json paths = nlohmann::json::array();
    for (auto& p : m.paths) paths.push_back(p.string());
    const fs::path main = m.paths.empty() ? fs::path() : m.paths.front();
    std::error_code ec;
    nlohmann::json j = {{"model_name", m.model_name},
                        {"model_size_in_billions", m.model_size_in_billions},
                        {"model_format", m.model_format},
                        {"quantization", m.quantization.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.quantization)},
                        {"model_version", m.model_version},
                        {"path", main.string()},
                        {"actor_ip_address", "127.0.0.1"},
                        {"size_bytes", m.size_bytes},
                        {"paths", paths}};
    if (fs::is_symlink(main, ec)) j["real_path"] = fs::canonical(main, ec).string();
    if (m.source.is_object())
        for (auto& [k, v] : m.source.items()) j[k] = v;
    return j;
}

void remove_cached_model(const CachedModel& m) {
    for (auto& p : m.paths) {
        std::error_code ec;
        fs::remove_all(p, ec);
        if (ec) throw std::runtime_error("cannot delete " + p.string() + ": " + ec.message());
    }
    std::error_code ec;
    const fs::path dir = m.model_version.rfind("converted--", 0) == 0 ? m.paths.front().parent_path()
                                                                      : model_cache_dir() / m.model_name;
    if (!fs::is_directory(dir, ec)) return;
    // The download record of the removed file goes too; a folder left with only xinfer's own
    // bookkeeping (the manifest, the download lock) goes as a whole.
    bool only_bookkeeping = true;
    for (auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind(".xinfer-", 0) != 0) only_bookkeeping = false;
    if (only_bookkeeping) {
        fs::remove_all(dir, ec);
        return;
    }
    const fs::path manifest_path = dir / ".xinfer-download.json";
    if (fs::exists(manifest_path, ec) && !m.paths.empty()) {
        nlohmann::json manifest = nlohmann::json::parse(std::ifstream(manifest_path), nullptr, false);
        if (manifest.is_object() && manifest.erase(m.paths.front().filename().string()) > 0)
            std::ofstream(manifest_path) << manifest.dump(2);
    }
}

}  // namespace xinfer
