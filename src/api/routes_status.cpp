// Health and identity: /status, the cluster's version and auth switch, and the
// supervisor facts Xinference's CLI asks for (stop-cluster, worker start-up).
#include <thread>

#include "api/http_util.h"
#include "api/routes.h"

namespace xinfer {


void add_status_routes(httplib::Server& server, std::function<std::string()> address, std::function<void()> request_shutdown,
                       bool auth_enabled) {
    server.Get("/status", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"status", "ok"}, {"version", XINFER_VERSION}});
    }));
    server.Get("/v1/cluster/version", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"version", XINFER_VERSION}, {"full-revisionid", ""}, {"dirty", false}, {"error", nullptr}});
    }));
    // Xinference's client reads {"auth": bool} before anything else.
    server.Get("/v1/cluster/auth", guarded([auth_enabled](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"auth", auth_enabled}});
    }));
    server.Get("/v1/supervisor", guarded([address](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"supervisor_ip", address()}});
    }));
    server.Get("/v1/address", guarded([address](const httplib::Request&, httplib::Response& res) {
        send_json(res, address());
    }));
    // `xinference stop-cluster`: a graceful stop, as SIGTERM (requests in flight finish, engines
    // stop, launched models come back at the next start). The answer goes out first.
    server.Delete("/v1/clusters", guarded([request_shutdown](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"result", true}});
        std::thread([request_shutdown] {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            request_shutdown();
        }).detach();
    }));
}

}  // namespace xinfer
