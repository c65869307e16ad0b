#include "api/http_util.h"
#include "api/routes.h"

namespace xinfer {

void add_status_routes(httplib::Server& server, Supervisor& supervisor) {
    server.Get("/status", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"status", "ok"}, {"version", XINFER_VERSION}});
    }));
    server.Get("/v1/cluster/version", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"version", XINFER_VERSION}, {"full-revisionid", ""}, {"dirty", false}});
    }));
    server.Get("/v1/cluster/auth", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, false);
    }));
    (void)supervisor;
}

}  // namespace xinfer
