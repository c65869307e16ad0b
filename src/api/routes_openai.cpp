// The OpenAI-compatible inference endpoints: validate, route by `model`, proxy to the engine.
#include "api/http_util.h"
#include "api/openai_validation.h"
#include "api/proxy.h"
#include "api/routes.h"
#include "common/json_util.h"

namespace xinfer {

namespace {
Handler forward(Supervisor& sup, Capability need, const char* engine_path, void (*validate)(const json&)) {
    return guarded([&sup, need, engine_path, validate](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        validate(body);
        ProxyOptions opts;
        opts.path = engine_path;
        opts.stream = body.value("stream", false);
        proxy_request(sup.acquire(body["model"].get<std::string>(), need), req.body, opts, res);
    });
}
}  // namespace

void add_openai_routes(httplib::Server& server, Supervisor& sup) {
    server.Post("/v1/chat/completions", forward(sup, Capability::chat, "/v1/chat/completions", validate_chat_request));
    server.Post("/v1/completions", forward(sup, Capability::completion, "/v1/completions", validate_completion_request));
}

}  // namespace xinfer
