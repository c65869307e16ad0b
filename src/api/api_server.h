// The HTTP front door: one httplib server carrying every route group, with the limits and
// error handling that keep bad input from hurting the service.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/accept_loops.h"
#include "registry/registry.h"
#include "auth/authenticator.h"
#include "supervisor/supervisor.h"

namespace xinfer {

class ClusterNode;

struct ApiServerConfig {
    size_t max_body_bytes = 64ull << 20;  // uploads (multipart) larger than this get 413
    size_t max_json_bytes = 16ull << 20;  // every other body larger than this gets 413
    int read_timeout_s = 30;              // a client silent this long mid-request is dropped
    int http_threads = 64;                // concurrent connections served (streams hold one each)
    std::string address = "127.0.0.1:9997";   // reported by /v1/address
    std::function<void()> request_shutdown;   // DELETE /v1/clusters (xinference stop-cluster)
    std::shared_ptr<Authenticator> auth;  // null: no authentication (the default)
    std::string metrics_token;            // with auth: a bearer that may read GET /metrics only
    ClusterNode* cluster = nullptr;       // cluster mode (serve --etcd): the other nodes
};

class ApiServer {
public:
    ApiServer(Supervisor& supervisor, Registry& registry, ApiServerConfig config);
    // Binds and serves until stop(); false when the address cannot be bound. Port 0 takes any
    // free port (logged as "xinfer listening on http://HOST:PORT"), so tests never race for one.
    bool listen(const std::string& host, int port);
    // The port bound by listen(); 0 until then.
    int port() const { return bound_port_; }
    // Why listen() could not bind (the system's words, e.g. "Address already in use").
    const std::string& bind_error() const { return bind_error_; }
    // Stops taking new requests (503), waits up to `timeout` for the ones in flight (streams
    // included) to finish, then stops the server.
    void drain_and_stop(std::chrono::seconds timeout);
    void stop();

private:
    httplib::Server server_;
    std::unique_ptr<AcceptLoops> accept_loops_;
    Supervisor& supervisor_;
    std::atomic<bool> draining_{false};
    std::atomic<int> bound_port_{0};
    std::string bind_error_;
    std::string address_;  // host:port as /v1/address reports it; set before serving
};

}  // namespace xinfer
