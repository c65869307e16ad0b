#include "hub/model_download.h"
#include "common/text.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string fill(std::string t, const std::string& key, const std::string& value) {
    for (size_t at; (at = t.find("{" + key + "}")) != std::string::npos;) t.replace(at, key.size() + 2, value);
    return t;
}

// An exclusive lock on a file, released on destruction: one download of a model folder at a
// time across processes (two services sharing one XINFER_HOME).
class FolderLock {
public:
    explicit FolderLock(const fs::path& file) {
        fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ >= 0) ::flock(fd_, LOCK_EX);
    }
    ~FolderLock() {
        if (fd_ >= 0) ::close(fd_);  // closing releases the lock
    }

private:
    int fd_ = -1;
};

bool file_complete(const fs::path& p, const HubFile& f) {
    std::error_code ec;
    return fs::exists(p, ec) && (f.size == 0 || fs::file_size(p, ec) == f.size);
}

}  // namespace

uint64_t DownloadPlan::missing_bytes() const {
    uint64_t n = 0;
    for (auto& f : files)
        if (!file_complete(local_path(f), f)) n += f.size;
    return n;
}

fs::path DownloadPlan::local_path(const HubFile& f) const {
    return folder ? dir / f.path : dir / fs::path(f.path).filename();
}

std::vector<HubFile> hf_folder_files(const std::vector<HubFile>& repo_files) {
    // A path from the hub is only taken when it stays inside the folder.
    auto safe = [](const std::string& p) {
        if (p.empty() || p[0] == '/' || p.find('\\') != std::string::npos) return false;
        for (auto& part : fs::path(p))
            if (part == ".." || part == ".") return false;
        return true;
    };
    static const std::regex module_dir("^\\d+_[A-Za-z]+/[^/]+$");  // sentence-transformers: 1_Pooling/config.json
    auto ends = [](const std::string& s, const std::string& tail) {
        return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
    };
    bool has_safetensors = false;
    for (auto& f : repo_files) has_safetensors = has_safetensors || (f.path.find('/') == std::string::npos && ends(f.path, ".safetensors"));
    std::vector<HubFile> out;
    for (auto& f : repo_files) {
        if (!safe(f.path)) continue;
        const std::string name = lower(f.path);
        const bool top = name.find('/') == std::string::npos;
        const bool small = ends(name, ".json") || ends(name, ".txt") || ends(name, ".model") || ends(name, ".tiktoken");
        const bool weights = ends(name, ".safetensors") ||
                             (!has_safetensors && name.rfind("pytorch_model", 0) == 0 && ends(name, ".bin"));
        if ((top && (small || weights)) || (std::regex_match(name, module_dir) && small)) out.push_back(f);
    }
    return out;
}

std::string match_quantization(const json& source, const std::string& wanted) {
    const json quants = source.value("quantizations", json::array());
    if (wanted.empty()) return quants.empty() ? "" : quants[0].get<std::string>();
    for (auto& q : quants)
        if (q.is_string() && lower(q.get<std::string>()) == lower(wanted)) return q.get<std::string>();
    return wanted;
}

std::vector<std::string> files_for_quantization(const json& source, const std::string& quantization) {
    if (source.contains("model_file_name") && source["model_file_name"].is_string()) return {source["model_file_name"]};
    const json parts = source.value("quantization_parts", json::object());
    if (parts.is_object() && parts.contains(quantization) && source.contains("model_file_name_split_template")) {
        std::vector<std::string> out;
        for (auto& part : parts[quantization])
            out.push_back(fill(fill(source["model_file_name_split_template"], "quantization", quantization), "part", part));
        return out;
    }
    if (source.contains("model_file_name_template") && source["model_file_name_template"].is_string())
        return {fill(source["model_file_name_template"], "quantization", quantization)};
    return {};
}

DownloadPlan plan_model_download(const std::string& model_name, const json& entry, const std::string& quantization,
                                 const std::string& download_hub, const fs::path& cache_root) {
    const json sources = entry.value("model_src", json::object());
    std::vector<std::string> available;
    for (auto& [hub, src] : sources.items())
        if (src.is_object() && src.contains("model_id")) available.push_back(hub);
    const std::vector<std::string> hubs = hub_order(download_hub, available);
    if (hubs.empty())
        throw std::runtime_error("model " + model_name + " has no source on " +
                                 (download_hub.empty() ? std::string("any hub") : "hub '" + download_hub + "'") +
                                 " (it has: " + (available.empty() ? std::string("none") : sources.dump()) + ")");
    DownloadPlan plan;
    plan.model_name = model_name;
    plan.dir = cache_root / model_name;
    std::string failures;
    for (auto& hub : hubs) {
        const json& src = sources[hub];
        plan.quantization = match_quantization(src, quantization);
        const std::vector<std::string> names = files_for_quantization(src, plan.quantization);
        plan.folder = names.empty();  // no file named: the repository is a Hugging Face model folder
        if (plan.folder && hub_offline())
            throw std::runtime_error("offline mode (XINFER_OFFLINE=1): model " + model_name + " needs its Hugging Face folder in " +
                                     plan.dir.string() + ", and no connection is opened to fetch it");
        if (!plan.folder && hub_offline()) {
            std::string missing;
            for (auto& n : names)
                if (!fs::exists(plan.dir / fs::path(n).filename())) missing += (missing.empty() ? "" : ", ") + n;
            throw std::runtime_error("offline mode (XINFER_OFFLINE=1): model " + model_name + " needs " + missing + " in " +
                                     plan.dir.string() + ", and no connection is opened to fetch it");
        }
        try {
            plan.listing = list_repo(endpoints_for(hub), src["model_id"], src.value("model_revision", "main"), default_fetch_options());
        } catch (const FetchError& e) {
            if (e.status == 401 || e.status == 403 || hubs.size() == 1) throw;
            failures += std::string(failures.empty() ? "" : "; ") + e.what();
            continue;  // unreachable or not there: the next hub
        }
        if (plan.folder) {
            plan.files = hf_folder_files(plan.listing.files);
            bool config = false;
            for (auto& f : plan.files) {
                plan.total_bytes += f.size;
                config = config || f.path == "config.json";
            }
            if (!config)
                throw std::runtime_error("repository " + plan.listing.repo + " on " + hub + " is not a Hugging Face model folder (no config.json)");
            plan.main_file = plan.dir;
            return plan;
        }
        std::map<std::string, HubFile> by_path;
        for (auto& f : plan.listing.files) by_path[f.path] = f;
        std::vector<std::string> wanted = names;
        // llama.cpp's audio models come as two files: the model and its audio projector.
        if (src.contains("mmproj_file_name") && src["mmproj_file_name"].is_string()) wanted.push_back(src["mmproj_file_name"]);
        for (auto& n : wanted) {
            auto it = by_path.find(n);
            if (it == by_path.end())
                throw std::runtime_error("repository " + plan.listing.repo + " on " + hub + " has no file " + n +
                                         " (quantization " + plan.quantization + ")");
            plan.files.push_back(it->second);
            plan.total_bytes += it->second.size;
        }
        plan.main_file = plan.dir / fs::path(names.front()).filename();
        return plan;
    }
    throw FetchError("no hub could list " + model_name + ": " + failures, 0);
}

void run_model_download(const DownloadPlan& plan, const DownloadProgress& progress, const std::atomic<bool>* cancel) {
    // One download per folder in this process (threads) and across processes (flock).
    static std::mutex table_mu;
    static std::map<std::string, std::shared_ptr<std::mutex>> locks;
    std::shared_ptr<std::mutex> lock;
    {
        std::lock_guard g(table_mu);
        auto& l = locks[plan.dir.string()];
        if (!l) l = std::make_shared<std::mutex>();
        lock = l;
    }
    std::lock_guard g(*lock);
    fs::create_directories(plan.dir);
    FolderLock folder_lock(plan.dir / ".xinfer-download.lock");

    const uint64_t missing = plan.missing_bytes();
    if (missing > 0) {
        struct statvfs fsinfo {};
        if (statvfs(plan.dir.c_str(), &fsinfo) == 0) {
            const uint64_t free_bytes = static_cast<uint64_t>(fsinfo.f_bavail) * fsinfo.f_frsize;
            if (free_bytes < missing + (64ull << 20))
                throw std::runtime_error("not enough disk space in " + plan.dir.string() + " for " + plan.model_name + ": " +
                                         std::to_string(missing >> 20) + " MiB needed, " + std::to_string(free_bytes >> 20) +
                                         " MiB free");
        }
    }
    FetchOptions options = default_fetch_options();
    options.cancel = cancel;
    for (auto& h : hub_headers(plan.listing.endpoint.hub)) options.headers.push_back(h);
    uint64_t done_before = 0;
    for (auto& f : plan.files) {
        const fs::path dest = plan.local_path(f);
        if (plan.folder) fs::create_directories(dest.parent_path());
        if (!file_complete(dest, f)) {
            download_file(file_url(plan.listing, f.path), dest, f.size, f.sha256, options, [&](uint64_t got, uint64_t) {
                if (progress) progress(done_before + got, plan.total_bytes);
            });
        }
        done_before += f.size;
        if (progress) progress(done_before, plan.total_bytes);
    }
    json manifest = {{"model_name", plan.model_name}, {"hub", plan.listing.endpoint.hub}, {"endpoint", plan.listing.endpoint.base},
                     {"repo", plan.listing.repo}, {"revision", plan.listing.revision}, {"quantization", plan.quantization},
                     {"files", json::array()}};
    for (auto& f : plan.files) manifest["files"].push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
    const fs::path manifest_path = plan.dir / ".xinfer-download.json";
    json all = json::object();
    if (fs::exists(manifest_path)) all = json::parse(std::ifstream(manifest_path), nullptr, false);
    if (!all.is_object()) all = json::object();
    all[plan.main_file.filename().string()] = manifest;  // one record per downloaded model file
    std::ofstream(manifest_path.string() + ".tmp") << all.dump(2);
    fs::rename(manifest_path.string() + ".tmp", manifest_path);
}

void fetch_file_head(const DownloadPlan& plan, const fs::path& scratch, uint64_t bytes) {
    FetchOptions options = default_fetch_options();
    for (auto& h : hub_headers(plan.listing.endpoint.hub)) options.headers.push_back(h);
    const std::string url = file_url(plan.listing, plan.files.front().path);
    HttpResponse r = http_get(url, options, "0-" + std::to_string(bytes - 1));
    if (r.status != 206 && r.status != 200)
        throw FetchError("cannot read the header of " + plan.files.front().path + ": HTTP " + std::to_string(r.status), r.status);
    std::ofstream(scratch, std::ios::binary) << r.body;
}

}  // namespace xinfer
