// The OpenAI-compatible inference endpoints: validate, route by `model`, proxy to the engine.
// A request that names an id (Xinference's `request_id` body field, or X-Request-Id) can be
// aborted through POST /v1/models/{uid}/requests/{id}/abort.
#include "api/caller.h"
#include "api/http_util.h"
#include "api/openai_validation.h"
#include "api/proxy.h"
#include "api/request_tracker.h"
#include "api/routes.h"
#include "common/json_util.h"

namespace xinfer {

namespace {

std::string request_id(const httplib::Request& req, const json& body) {
    if (auto it = body.find("request_id"); it != body.end() && !it->is_null()) {
        if (it->is_string()) return it->get<std::string>();
        if (it->is_number_integer()) return it->dump();
        throw bad_request("'request_id' must be a string", "request_id");
    }
    return req.get_header_value("X-Request-Id");
}

Handler forward(Supervisor& sup, Capability need, const char* engine_path, void (*validate)(const json&)) {
    return guarded([&sup, need, engine_path, validate](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        validate(body);
        ProxyOptions opts;
        opts.path = engine_path;
        opts.stream = body.value("stream", false);
        Lease lease = acquire_for_caller(sup, body["model"].get<std::string>(), need);
        if (std::string id = request_id(req, body); !id.empty()) {
            if (id.size() > 256) throw bad_request("'request_id' is longer than 256 characters", "request_id");
            opts.tracked = request_tracker().begin(lease.model().uid, id);
        }
        proxy_request(std::move(lease), req.body, opts, res);
    });
}

}  // namespace

void add_openai_routes(httplib::Server& server, Supervisor& sup) {
    server.Post("/v1/chat/completions", forward(sup, Capability::chat, "/v1/chat/completions", validate_chat_request));
    server.Post("/v1/completions", forward(sup, Capability::completion, "/v1/completions", validate_completion_request));
    // Body {"block_duration": seconds} (default 30): how long the id stays refused afterwards.
    server.Post("/v1/models/:uid/requests/:id/abort", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        const auto& uid = req.path_params.at("uid");
        sup.describe(uid);  // 404 for a model that does not exist
        json body = req.body.empty() ? json::object() : parse_json_object(req.body);
        long long block = opt_int(body, "block_duration").value_or(30);
        if (block < 0 || block > 86400) throw bad_request("'block_duration' must be 0 to 86400 seconds", "block_duration");
        send_json(res, {{"msg", request_tracker().abort(uid, req.path_params.at("id"), static_cast<int>(block))}});
    }));
}

}  // namespace xinfer
