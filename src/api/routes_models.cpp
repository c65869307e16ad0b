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
