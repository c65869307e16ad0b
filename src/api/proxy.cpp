#include "api/proxy.h"

#include <nlohmann/json.hpp>

#include "api/http_util.h"
#include "common/http_client.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

// llama-server's errors look like {"error":{"code","message","type"}}; keep its status and
// message, and answer in xinfer's shape (which adds `detail` for Xinference clients).
ApiError engine_error(int status, const std::string& body, const std::string& uid) {
    json j = json::parse(body, nullptr, false);
    std::string message, type;
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
        message = j["error"].value("message", "");
        type = j["error"].value("type", "");
    }
    if (message.empty()) message = body.empty() ? "engine error" : body.substr(0, 500);
    if (status == 503 && type == "unavailable_error") type = "";
    return ApiError(status, message + " (model " + uid + ")", type == "server_error" && status < 500 ? "" : type);
}

ApiError engine_unreachable(const std::string& uid, httplib::Error err) {
    return ApiError(503, "The engine of model '" + uid + "' did not answer (" + httplib::to_string(err) +
                             "); it may have stopped. See GET /v1/models/" + uid, "", "", "engine_unreachable");
}

struct StreamState {
    Lease lease;
    std::unique_ptr<httplib::Client> client;
    httplib::ClientImpl::StreamHandle handle;
    std::string uid;
};

}  // namespace

void proxy_request(Lease lease, const std::string& body, const ProxyOptions& opts, httplib::Response& res) {
    const std::string uid = lease.model().uid;
    auto client = make_client(lease.address());
    client->set_read_timeout(opts.read_timeout_s, 0);
    client->set_write_timeout(60, 0);

    if (!opts.stream) {
        auto r = client->Post(opts.path, body, "application/json");
        if (!r) throw engine_unreachable(uid, r.error());
        if (r->status >= 400) throw engine_error(r->status, r->body, uid);
        res.status = r->status;
        res.set_content(std::move(r->body), r->get_header_value("Content-Type", "application/json"));
        return;
    }

    auto handle = client->open_stream("POST", opts.path, {}, {}, body, "application/json");
    if (!handle.response) throw engine_unreachable(uid, handle.error);
    if (handle.response->status >= 400) {
        std::string err_body;
        char buf[4096];
        for (ssize_t n; (n = handle.read(buf, sizeof buf)) > 0;) err_body.append(buf, static_cast<size_t>(n));
        throw engine_error(handle.response->status, err_body, uid);
    }
    auto st = std::make_shared<StreamState>(StreamState{std::move(lease), std::move(client), std::move(handle), uid});
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider("text/event-stream", [st](size_t, httplib::DataSink& sink) {
        char buf[16384];
        ssize_t n = st->handle.read(buf, sizeof buf);
        if (n > 0) return sink.write(buf, static_cast<size_t>(n));
        if (n < 0) {
            // The engine went away mid-stream: tell the client in-band, then end the stream.
            json err = ApiError(503, "The engine of model '" + st->uid + "' stopped while streaming").to_json();
            std::string event = "data: " + err.dump() + "\n\n";
            sink.write(event.data(), event.size());
        }
        sink.done();
        return true;
    });
}

}  // namespace xinfer
