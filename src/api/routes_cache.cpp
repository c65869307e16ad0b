// The model cache (XINFER_HOME/cache) as Xinference's client reads it: GET /v1/cache/models
// ({"list": [...]}), GET /v1/cache/models/files (the paths a removal would delete) and
// DELETE /v1/cache/models (refused while a running model uses the files).
#include <filesystem>

#include "api/http_util.h"
#include "api/routes.h"
#include "registry/model_cache.h"

namespace xinfer {

namespace {

std::optional<CachedModel> find_version(const std::string& version) {
    for (auto& m : list_cached_models())
        if (m.model_version == version) return m;
    return std::nullopt;
}

// The running model (uid) whose files lie inside the cache entry, if any.
std::string user_of(Supervisor& sup, const CachedModel& m) {
    namespace fs = std::filesystem;
    const json models = sup.list();  // kept: the loop must not walk a destroyed temporary
    for (auto& d : models["data"]) {
        std::error_code ec;
        fs::path used = fs::weakly_canonical(d.value("model_path", ""), ec);
        for (auto& p : m.paths) {
            fs::path cached = fs::weakly_canonical(p, ec);
            auto rel = used.lexically_relative(cached);
            if (!used.empty() && !rel.empty() && rel.native().rfind("..", 0) != 0) return d.value("model_uid", "");
        }
    }
    return "";
}

}  // namespace

void add_cache_routes(httplib::Server& server, Supervisor& sup) {
    server.Get("/v1/cache/models", guarded([](const httplib::Request& req, httplib::Response& res) {
        json list = json::array();
        for (auto& m : list_cached_models(req.get_param_value("model_name"))) list.push_back(to_json(m));
        send_json(res, {{"list", list}});
    }));
    server.Get("/v1/cache/models/files", guarded([](const httplib::Request& req, httplib::Response& res) {
        const std::string version = req.get_param_value("model_version");
        json paths = json::array();
        if (auto m = find_version(version))
            for (auto& p : m->paths) paths.push_back(p.string());
        const std::string worker = req.get_param_value("worker_ip");
        send_json(res, {{"model_version", version}, {"worker_ip", worker.empty() ? json(nullptr) : json(worker)}, {"paths", paths}});
    }));
    server.Delete("/v1/cache/models", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        const std::string version = req.get_param_value("model_version");
        if (version.empty()) throw bad_request("'model_version' is required (see GET /v1/cache/models)", "model_version");
        auto m = find_version(version);
        if (!m) throw not_found("No cached model version named '" + version + "'", "model_version");
        if (std::string uid = user_of(sup, *m); !uid.empty())
            throw conflict("Model '" + uid + "' is running from " + version + "; terminate it before removing the cache");
        try {
            remove_cached_model(*m);
        } catch (const std::exception& e) {
            throw internal_error(e.what());
        }
        send_json(res, {{"result", true}});
    }));
}

}  // namespace xinfer
