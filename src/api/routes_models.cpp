// Xinference's model management: launch, list, describe, progress, events, cancel, terminate.
#include "api/http_util.h"
#include "api/routes.h"
#include "common/json_util.h"

namespace xinfer {

void add_model_routes(httplib::Server& server, Supervisor& sup) {
    server.Post("/v1/models", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        LaunchRequest launch = LaunchRequest::from_json(body);
        if (req.has_param("wait_ready")) launch.wait_ready = query_flag(req, "wait_ready", true);
        std::string uid = sup.launch(launch);
        if (launch.wait_ready) {
            try {
                sup.wait_ready(uid);
            } catch (const ApiError&) {
                // The caller gets the reason now; a failed launch does not linger in the list.
                try { sup.terminate(uid); } catch (...) {}
                throw;
            }
        }
        send_json(res, {{"model_uid", uid}});
    }));
    server.Get("/v1/models", guarded([&sup](const httplib::Request&, httplib::Response& res) {
        send_json(res, sup.list());
    }));
    server.Get("/v1/models/:uid", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        send_json(res, sup.describe(req.path_params.at("uid")));
    }));
    server.Get("/v1/models/:uid/progress", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        const auto& uid = req.path_params.at("uid");
        json d = sup.describe(uid);
        send_json(res, {{"progress", sup.progress(uid)}, {"status", d["status"]},
                        {"failure_reason", d["failure_reason"]}});
    }));
    server.Get("/v1/models/:uid/events", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        send_json(res, sup.events(req.path_params.at("uid")));
    }));
    server.Get("/v1/models/:uid/replicas", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        send_json(res, sup.describe(req.path_params.at("uid"))["replicas"]);
    }));
    // Body {"replica": N} sets the count; an empty body adds one.
    server.Post("/v1/models/:uid/replicas", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        const auto& uid = req.path_params.at("uid");
        int count = static_cast<int>(sup.describe(uid)["replicas"].size()) + 1;
        if (!req.body.empty()) {
            json body = parse_json_object(req.body);
            if (auto n = opt_int(body, "replica")) count = static_cast<int>(*n);
        }
        sup.scale(uid, count);
        send_json(res, sup.describe(uid)["replicas"]);
    }));
    server.Delete("/v1/models/:uid/replicas/:index", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        const auto& uid = req.path_params.at("uid");
        int n = static_cast<int>(sup.describe(uid)["replicas"].size());
        int index = -1;
        try {
            index = std::stoi(req.path_params.at("index"));
        } catch (...) {
        }
        if (index < 0 || index >= n) throw not_found("Model '" + uid + "' has no replica " + req.path_params.at("index"));
        if (index != n - 1) throw bad_request("Replicas are removed from the end: remove replica " + std::to_string(n - 1));
        sup.scale(uid, n - 1);
        send_json(res, nullptr);
    }));
    server.Post("/v1/models/:uid/cancel", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        sup.cancel(req.path_params.at("uid"));
        send_json(res, nullptr);
    }));
    server.Delete("/v1/models/:uid", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        sup.terminate(req.path_params.at("uid"));
        send_json(res, nullptr);
    }));
}

}  // namespace xinfer
