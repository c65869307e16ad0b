// Xinference's model registrations: built-in catalog and custom specs, per model type.
#include "api/http_util.h"
#include "api/routes.h"
#include "cluster/cluster_node.h"
#include "common/json_util.h"

namespace xinfer {

namespace {
// Types Xinference's client lists that xinfer has no models of: their lists are empty.
bool type_without_models(const httplib::Request& req) {
    const std::string t = req.path_params.at("type");
    return t == "video" || t == "flexible";
}

ModelType type_param(const httplib::Request& req) {
    std::string t = req.path_params.at("type");
    auto type = parse_model_type(t);
    if (!type) throw bad_request("Unknown model type '" + t + "'; expected LLM, embedding, rerank, audio, image, video or flexible");
    return *type;
}
}  // namespace

void add_registration_routes(httplib::Server& server, Registry& registry, ClusterNode* cluster) {
    server.Get("/v1/model_registrations/:type", guarded([&registry](const httplib::Request& req, httplib::Response& res) {
        bool detailed = query_flag(req, "detailed", false);
        json out = json::array();
        if (type_without_models(req)) return send_json(res, out);
        for (auto& s : registry.list(type_param(req))) {
            json item = {{"model_name", s.spec.value("model_name", "")}, {"is_builtin", s.builtin}};
            if (detailed) {
                item = s.spec;
                item["is_builtin"] = s.builtin;
            }
            out.push_back(item);
        }
        send_json(res, out);
    }));
    server.Get("/v1/model_registrations/:type/:name", guarded([&registry](const httplib::Request& req, httplib::Response& res) {
        const auto& name = req.path_params.at("name");
        if (type_without_models(req)) throw not_found("Model registration not found: " + name, "model_name");
        auto s = registry.find(type_param(req), name);
        if (!s) throw not_found("Model registration not found: " + name, "model_name");
        json out = s->spec;
        out["is_builtin"] = s->builtin;
        send_json(res, out);
    }));
    server.Post("/v1/model_registrations/:type", guarded([&registry, cluster](const httplib::Request& req, httplib::Response& res) {
        ModelType type = type_param(req);
        json body = parse_json_object(req.body);
        // Xinference sends the spec as a JSON string in `model`; accept an object as well.
        if (!body.contains("model")) throw bad_request("'model' (the spec JSON) is required", "model");
        json spec = body["model"];
        if (spec.is_string()) {
            spec = json::parse(spec.get<std::string>(), nullptr, false);
            if (spec.is_discarded()) throw bad_request("'model' is not valid JSON", "model");
        }
        bool persist = opt_bool(body, "persist").value_or(false);
        registry.add(type, spec, persist);
        if (cluster) {  // every node registers it (the cluster agent's sync)
            try {
                cluster->put_shared("registrations", to_string(type) + "/" + spec["model_name"].get<std::string>(), spec.dump());
            } catch (const std::exception& e) {
                registry.remove(type, spec["model_name"].get<std::string>());
                throw ApiError(503, std::string("The cluster's etcd did not take the registration: ") + e.what(), "", "",
                               "cluster_unavailable");
            }
        }
        send_json(res, nullptr);
    }));
    server.Delete("/v1/model_registrations/:type/:name", guarded([&registry, cluster](const httplib::Request& req, httplib::Response& res) {
        if (cluster) {
            try {
                cluster->remove_shared("registrations", to_string(type_param(req)) + "/" + req.path_params.at("name"));
            } catch (const std::exception& e) {
                throw ApiError(503, std::string("The cluster's etcd cannot be changed now: ") + e.what(), "", "",
                               "cluster_unavailable");
            }
        }
        registry.remove(type_param(req), req.path_params.at("name"));
        send_json(res, nullptr);
    }));
}

}  // namespace xinfer
