#include "host/host_server.h"

#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "api/elastic_thread_pool.h"
#include "api/http_util.h"
#include "common/log.h"

namespace xinfer {

int serve_model_host(const HostOptions& o, const std::function<HostRoutes()>& load) {
    signal(SIGPIPE, SIG_IGN);
    HostRoutes routes;  // holds the engine until the server is done
    try {
        routes = load();
    } catch (const std::exception& e) {
        log::error(std::string("model host: ") + e.what());
        return 1;
    }
    httplib::Server server;
    // The gateway keeps up to 32 idle keep-alive connections to an engine, each holding one of
    // these threads while it idles: a fixed small pool would leave a new connection waiting out a
    // keep-alive timeout. A few threads, more as connections need them (as the gateway does).
    server.new_task_queue = [base = static_cast<size_t>(std::max(4, o.concurrency * 2))] { return new ElasticThreadPool(base, 256); };
    server.set_payload_max_length(1ull << 30);  // the supervisor enforces the client-facing limit
    server.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); });
    routes(server);

    // SIGTERM from the supervisor: stop serving and exit.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([&] {
        int sig = 0;
        sigwait(&set, &sig);
        server.stop();
    }).detach();

    bool bound;
    const bool unix_socket = !o.listen.empty() && o.listen[0] == '/';
    if (unix_socket) {
        // A socket left by a host that was killed would make bind fail; the path is ours.
        std::error_code ec;
        if (std::filesystem::is_socket(o.listen, ec)) std::filesystem::remove(o.listen, ec);
        server.set_address_family(AF_UNIX);
        bound = server.bind_to_port(o.listen, 80);
    } else {
        auto colon = o.listen.rfind(':');
        bound = server.bind_to_port(o.listen.substr(0, colon), std::stoi(o.listen.substr(colon + 1)));
    }
    if (!bound) {
        log::error("model host: cannot listen on " + o.listen);
        return 1;
    }
    log::info("model host: engine " + o.engine + " serving on " + o.listen);
    server.listen_after_bind();
    if (unix_socket) {
        std::error_code ec;
        std::filesystem::remove(o.listen, ec);
    }
    return 0;
}

}  // namespace xinfer
