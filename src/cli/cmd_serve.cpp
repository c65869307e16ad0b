// `xinfer serve` (alias xinference-local): supervisor and worker in one process.
#include <signal.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "api/api_server.h"
#include "cli/api_client.h"
#include "cli/commands.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/subprocess.h"

namespace xinfer::cli {

namespace {
struct ServeArgs {
    std::string host = "127.0.0.1";
    int port = 9997;
    std::string log_level = "info";
    size_t max_body_mb = 64;
};

int run_serve(const ServeArgs& a) {
    if (a.log_level == "debug") log::set_level(log::Level::debug);
    else if (a.log_level == "warn" || a.log_level == "warning") log::set_level(log::Level::warn);
    else if (a.log_level == "error") log::set_level(log::Level::error);

    // Signals are taken by one waiting thread, so shutdown runs as ordinary code, not in a handler.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    ProcessManager::instance();  // its thread forks every engine: start it before anything else
    auto home = xinfer_home();
    auto store = std::make_shared<RegistrationStore>(home / "xinfer.db");
    auto registry = std::make_shared<Registry>(store);
    SupervisorConfig sc;
    if (auto t = env_or("XINFER_LAUNCH_TIMEOUT"); !t.empty()) sc.launch_timeout = std::chrono::seconds(std::stoi(t));
    Supervisor supervisor(registry, sc);
    ApiServerConfig ac;
    ac.max_body_bytes = a.max_body_mb << 20;
    ApiServer server(supervisor, *registry, ac);

    std::thread signals([&] {
        int sig = 0;
        sigwait(&set, &sig);
        log::info(std::string("received ") + strsignal(sig) + ", shutting down");
        server.stop();
    });
    signals.detach();

    log::info("xinfer " XINFER_VERSION " home=" + home.string());
    if (!server.listen(a.host, a.port)) {
        log::error("cannot listen on " + a.host + ":" + std::to_string(a.port));
        return 1;
    }
    supervisor.shutdown();
    ProcessManager::instance().terminate_all(std::chrono::seconds(5));
    log::info("xinfer stopped");
    return 0;
}
}  // namespace

void add_serve_command(CLI::App& app) {
    auto a = std::make_shared<ServeArgs>();
    auto* serve = app.add_subcommand("serve", "Run the xinfer service (supervisor and worker in one process)");
    serve->alias("local");
    serve->add_option("-H,--host", a->host, "Address to listen on")->capture_default_str()->envname("XINFER_HOST");
    serve->add_option("-p,--port", a->port, "Port")->capture_default_str()->envname("XINFER_PORT");
    serve->add_option("--log-level", a->log_level, "debug, info, warn, error")->capture_default_str();
    serve->add_option("--max-body-mb", a->max_body_mb, "Largest request body accepted (MiB)")
        ->capture_default_str()->envname("XINFER_MAX_BODY_MB");
    serve->callback([a] { exit_code() = run_serve(*a); });
}

}  // namespace xinfer::cli
