#include "hub/hub_api.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace xinfer {

using json = nlohmann::json;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

std::string trim_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

// Percent-encodes what a path segment or query value cannot carry as is ('/' kept for paths).
std::string escape(const std::string& s, bool keep_slash) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) out += static_cast<char>(c);
        else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string hub_message(const HttpResponse& r) {
    try {
        const json j = json::parse(r.body);
        if (j.is_object()) {
            for (auto key : {"error", "Message", "message"})
                if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
        }
    } catch (const std::exception&) {
    }
    return r.body.substr(0, 200);
}

[[noreturn]] void refuse(const HttpResponse& r, const HubEndpoint& e, const std::string& repo) {
    const std::string where = e.hub + " (" + e.base + ")";
    if (r.status == 401 || r.status == 403)
        throw FetchError("repository " + repo + " on " + where + " is gated or private (HTTP " + std::to_string(r.status) +
                             "): " + hub_message(r) + ". Accept its terms on the hub and set " +
                             (e.hub == "huggingface" ? "HF_TOKEN" : "MODELSCOPE_API_TOKEN") + " for xinfer",
                         r.status);
    if (r.status == 404) throw FetchError("repository or revision " + repo + " not found on " + where, 404);
    throw FetchError(where + " answered HTTP " + std::to_string(r.status) + " for " + repo + ": " + hub_message(r), r.status);
}

RepoListing list_huggingface(const HubEndpoint& e, const std::string& repo, const std::string& revision, const FetchOptions& o) {
    FetchOptions opts = o;
    for (auto& h : hub_headers(e.hub)) opts.headers.push_back(h);
    HttpResponse rev = http_get(e.base + "/api/models/" + escape(repo, true) + "/revision/" + escape(revision, false), opts);
    if (rev.status != 200) refuse(rev, e, repo);
    RepoListing l{e, repo, revision, {}};
    const json info = json::parse(rev.body, nullptr, false);
    if (info.is_object() && info.contains("sha") && info["sha"].is_string()) l.revision = info["sha"];
    HttpResponse tree = http_get(e.base + "/api/models/" + escape(repo, true) + "/tree/" + escape(l.revision, false) + "?recursive=true", opts);
    if (tree.status != 200) refuse(tree, e, repo);
    const json entries = json::parse(tree.body, nullptr, false);
    if (!entries.is_array()) throw FetchError(e.base + " gave a file list that is not a JSON array for " + repo, 0);
    for (auto& f : entries) {
        if (!f.is_object() || f.value("type", "file") != "file") continue;
        HubFile h{f.value("path", ""), f.value("size", uint64_t{0}), ""};
        if (f.contains("lfs") && f["lfs"].is_object()) {
            h.sha256 = f["lfs"].value("oid", "");
            h.size = f["lfs"].value("size", h.size);
        }
        l.files.push_back(std::move(h));
    }
    return l;
}

RepoListing list_modelscope(const HubEndpoint& e, const std::string& repo, const std::string& revision, const FetchOptions& o) {
    FetchOptions opts = o;
    for (auto& h : hub_headers(e.hub)) opts.headers.push_back(h);
    HttpResponse r = http_get(e.base + "/api/v1/models/" + escape(repo, true) + "/repo/files?Revision=" + escape(revision, false) +
                                  "&Recursive=true",
                              opts);
    if (r.status != 200) refuse(r, e, repo);
    const json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("Data") || !j["Data"].is_object() || !j["Data"].contains("Files"))
        throw FetchError(e.base + " gave no file list for " + repo + ": " + hub_message(r), 0);
    RepoListing l{e, repo, revision, {}};
    for (auto& f : j["Data"]["Files"]) {
        if (f.value("Type", "blob") != "blob") continue;
        l.files.push_back({f.value("Path", f.value("Name", "")), f.value("Size", uint64_t{0}), f.value("Sha256", "")});
    }
    return l;
}

}  // namespace

std::vector<HubEndpoint> endpoints_for(const std::string& hub) {
    std::vector<HubEndpoint> out;
    if (hub == "modelscope") {
        const std::string base = env("MODELSCOPE_ENDPOINT");
        out.push_back({hub, trim_slash(base.empty() ? "https://www.modelscope.cn" : base)});
        return out;
    }
    const std::string mirrors = env("XINFER_HUB_MIRRORS");
    for (size_t at = 0; at < mirrors.size();) {
        size_t comma = mirrors.find(',', at);
        if (comma == std::string::npos) comma = mirrors.size();
        if (comma > at) out.push_back({"huggingface", trim_slash(mirrors.substr(at, comma - at))});
        at = comma + 1;
    }
    const std::string base = env("HF_ENDPOINT");
    out.push_back({"huggingface", trim_slash(base.empty() ? "https://huggingface.co" : base)});
    return out;
}

std::vector<std::string> hub_order(const std::string& requested, const std::vector<std::string>& available) {
    auto has = [&](const std::string& h) { return std::find(available.begin(), available.end(), h) != available.end(); };
    if (!requested.empty() && requested != "auto") return has(requested) ? std::vector<std::string>{requested} : std::vector<std::string>{};
    std::string first = env("XINFERENCE_MODEL_SRC");
    if (first.empty()) first = env("LANG").rfind("zh_CN", 0) == 0 ? "modelscope" : "huggingface";
    std::vector<std::string> out;
    if (has(first)) out.push_back(first);
    for (auto& h : available)
        if (h != first) out.push_back(h);
    return out;
}

std::vector<std::string> hub_headers(const std::string& hub) {
    if (hub == "modelscope") {
        const std::string token = env("MODELSCOPE_API_TOKEN");
        return token.empty() ? std::vector<std::string>{} : std::vector<std::string>{"Authorization: Bearer " + token};
    }
    std::string token = env("HF_TOKEN");
    if (token.empty()) token = env("HUGGING_FACE_HUB_TOKEN");
    return token.empty() ? std::vector<std::string>{} : std::vector<std::string>{"Authorization: Bearer " + token};
}

RepoListing list_repo(const std::vector<HubEndpoint>& endpoints, const std::string& repo, const std::string& revision,
                      const FetchOptions& options) {
    std::string failures;
    for (auto& e : endpoints) {
        try {
            return e.hub == "modelscope" ? list_modelscope(e, repo, revision, options) : list_huggingface(e, repo, revision, options);
        } catch (const FetchCancelled&) {
            throw;
        } catch (const FetchError& err) {
            // Unreachable or failing: the next mirror. A clear refusal (gated, not found) is final.
            if (err.status == 401 || err.status == 403 || err.status == 404) throw;
            failures += std::string(failures.empty() ? "" : "; ") + err.what();
        }
    }
    throw FetchError("no hub answered for " + repo + ": " + failures, 0);
}

std::string file_url(const RepoListing& l, const std::string& path) {
    if (l.endpoint.hub == "modelscope")
        return l.endpoint.base + "/api/v1/models/" + escape(l.repo, true) + "/repo?Revision=" + escape(l.revision, false) +
               "&FilePath=" + escape(path, false);
    return l.endpoint.base + "/" + escape(l.repo, true) + "/resolve/" + escape(l.revision, false) + "/" + escape(path, true);
}

bool hub_offline() {
    for (auto name : {"XINFER_OFFLINE", "HF_HUB_OFFLINE"}) {
        const std::string v = env(name);
        if (v == "1" || v == "true" || v == "TRUE") return true;
    }
    return false;
}

}  // namespace xinfer
