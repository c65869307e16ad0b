// `xinfer serve` (alias xinference-local): supervisor and worker in one process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <thread>

#include "api/api_server.h"
#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/embedded_etcd.h"
#include "cli/serve_cluster.h"
#include "cluster/cluster_node.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/sqlite_db.h"
#include "common/subprocess.h"
#include "registry/model_cache.h"
#include "supervisor/deployment.h"

namespace xinfer::cli {

namespace fs = std::filesystem;

namespace {
struct ServeArgs {
    std::string host = "127.0.0.1";
    int port = 9997;
    std::string log_level = "info";
    size_t max_body_mb = 64;
    size_t max_json_mb = 16;
    int read_timeout_s = 30;
    std::string config;
    std::string keep_alive;
    int cpu_cores = 0;
    std::vector<std::string> hub_mirrors;
    std::string auth_config;
    std::string metrics_token;
    std::vector<std::string> model_dirs;
    std::string cpu_budget = "shared";
    std::string ignored_flag;
    int drain_seconds = 30;
    ClusterArgs cluster;
};

int run_serve(const ServeArgs& a) {
    std::string level = a.log_level;
    for (auto& c : level) c = static_cast<char>(::tolower(c));  // Xinference spells them INFO, DEBUG, ...
    if (level == "debug") log::set_level(log::Level::debug);
    else if (level == "warn" || level == "warning") log::set_level(log::Level::warn);
    else if (level == "error" || level == "critical") log::set_level(log::Level::error);
    if (a.cpu_cores > 0) setenv("XINFER_CPU_CORES", std::to_string(a.cpu_cores).c_str(), 1);
    if (!a.hub_mirrors.empty()) {  // read where downloads are planned (hub_api.cpp)
        std::string joined;
        for (auto& m : a.hub_mirrors) joined += (joined.empty() ? "" : ",") + m;
        setenv("XINFER_HUB_MIRRORS", joined.c_str(), 1);
    }

    // Signals are taken by one waiting thread, so shutdown runs as ordinary code, not in a handler.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    ProcessManager::instance();  // its thread forks every engine: start it before anything else
    auto home = xinfer_home();
    auto db = std::make_shared<SqliteDb>(home / "xinfer.db");
    auto registry = std::make_shared<Registry>(std::make_shared<RegistrationStore>(db));
    SupervisorConfig sc;
    if (auto t = env_or("XINFER_LAUNCH_TIMEOUT"); !t.empty()) sc.launch_timeout = std::chrono::seconds(std::stoi(t));
    if (auto t = env_or("XINFER_RESTART_BACKOFF_MS"); !t.empty()) sc.restart_backoff = std::chrono::milliseconds(std::stoi(t));
    if (auto t = env_or("XINFER_MAX_RESTARTS"); !t.empty()) sc.max_restarts = std::stoi(t);
    if (auto t = env_or("XINFER_QUEUE_TIMEOUT"); !t.empty()) sc.queue_timeout = std::chrono::seconds(std::stoi(t));
    if (a.cpu_budget == "strict") sc.cpu_budget = CpuBudget::strict;
    else if (a.cpu_budget != "shared") {
        log::error("--cpu-budget must be shared or strict, not '" + a.cpu_budget + "'");
        return 2;
    }
    if (!a.keep_alive.empty()) {
        json ka = a.keep_alive.find_first_not_of("-0123456789.") == std::string::npos ? json(std::stod(a.keep_alive))
                                                                                     : json(a.keep_alive);
        sc.default_keep_alive_s = *LaunchRequest::from_json({{"model_name", "x"}, {"keep_alive", ka}}).keep_alive_s;
    }
    json deployment = json::object();
    if (!a.config.empty()) {
        try {
            deployment = read_deployment_file(a.config);
        } catch (const std::exception& e) {
            log::error(e.what());
            return 1;
        }
    }
    // Launches by path are held to the allowed folders when the operator names them, and always
    // when authentication is on (callers are then not all trusted): the cache, Hugging Face's
    // cache and the folders of the deployment file are allowed besides.
    if (!a.model_dirs.empty() || !a.auth_config.empty()) {
        std::vector<fs::path> roots(a.model_dirs.begin(), a.model_dirs.end());
        roots.push_back(model_cache_dir());
        roots.push_back(hf_hub_cache_dir());
        for (auto& m : deployment.value("models", json::array()))
            if (m.is_object() && m.contains("model_path") && m["model_path"].is_string()) {
                const fs::path p = m["model_path"].get<std::string>();
                roots.push_back(fs::is_directory(p) ? p : p.parent_path());
            }
        sc.model_dirs = ModelDirs(roots);
        std::string shown;
        for (auto& r : sc.model_dirs.roots()) shown += (shown.empty() ? "" : ", ") + r.string();
        log::info("models may be launched from: " + shown);
    }
    Supervisor supervisor(registry, std::make_shared<ModelStore>(db), sc);
    ApiServerConfig ac;
    ac.max_body_bytes = a.max_body_mb << 20;
    ac.max_json_bytes = a.max_json_mb << 20;
    ac.read_timeout_s = a.read_timeout_s;
    ac.address = a.host + ":" + std::to_string(a.port);
    // stop-cluster takes the same way out as SIGTERM: the signal thread below drains and stops.
    ac.request_shutdown = [] { kill(getpid(), SIGTERM); };
    if (!a.auth_config.empty()) {
        try {
            ac.auth = Authenticator::import_file(a.auth_config, home, !a.cluster.etcd.empty());
            ac.metrics_token = a.metrics_token;
        } catch (const std::exception& e) {
            log::error(std::string("--auth-config: ") + e.what());
            return 1;
        }
        log::info("authentication on: users, passwords (Argon2id) and API keys (HMAC-SHA256) from " + a.auth_config +
                  " imported into " + (home / "auth.json").string());
    } else if (a.host != "127.0.0.1" && a.host != "localhost" && a.host != "::1") {
        log::warn("listening on " + a.host + " with authentication off: anyone who can reach this port can launch, stop and "
                  "use every model (serve --auth-config FILE to require keys)");
    }
    std::unique_ptr<ClusterSession> cluster;
    try {
        cluster = join_cluster(a.cluster, supervisor, *registry, ac.auth, a.host, a.port);
    } catch (const std::exception& e) {
        log::error(std::string("cannot join the cluster: ") + e.what());
        return 1;
    }
    ac.cluster = cluster ? cluster->node.get() : nullptr;
    ApiServer server(supervisor, *registry, ac);

    // Set once a signal has been taken; ready once the drain it started is over.
    auto signalled = std::make_shared<std::atomic<bool>>(false);
    auto drained = std::make_shared<std::promise<void>>();
    std::future<void> drain_over = drained->get_future();
    std::thread signals([&, drain = a.drain_seconds, signalled, drained] {
        int sig = 0;
        sigwait(&set, &sig);
        *signalled = true;
        log::info(std::string("received ") + strsignal(sig) + ", draining requests (up to " + std::to_string(drain) + " s)");
        // Watchdog: if draining hangs, engines are killed and the process ends anyway.
        std::thread([drain] {
            std::this_thread::sleep_for(std::chrono::seconds(drain + 10));
            log::error("shutdown took too long; killing engines");
            ProcessManager::instance().terminate_all(std::chrono::milliseconds(500));
            _exit(1);
        }).detach();
        if (cluster) cluster->leave();  // first: other nodes stop sending requests here while these drain
        server.drain_and_stop(std::chrono::seconds(drain));
        drained->set_value();
    });
    signals.detach();

    log::info("xinfer " XINFER_VERSION " home=" + home.string());
    // A cluster node runs what the cluster's desired state assigns it (the agent), not what its
    // own store remembers: while it was away, its models may have moved to other nodes.
    if (!cluster) supervisor.restore();
    if (!a.config.empty()) {
        try {
            json report = apply_deployment(supervisor, deployment);
            log::info("deployment " + a.config + ": " + report.dump());
        } catch (const std::exception& e) {
            log::error(e.what());
            return 1;
        }
    }
    if (!server.listen(a.host, a.port)) {
        log::error("cannot listen on " + a.host + ":" + std::to_string(a.port) +
                   (server.bind_error().empty() ? "" : ": " + server.bind_error()));
        if (cluster) cluster->leave();
        supervisor.shutdown();
        return 1;
    }
    // listen returns as soon as the listening socket closes, while the signal thread is still
    // inside httplib's stop(), which writes to the server after that: wait for it to finish
    // before the server goes out of scope (ASan caught the write to the dead stack frame).
    if (*signalled) drain_over.wait();
    if (cluster) cluster->leave();  // first: other nodes stop routing here
    supervisor.shutdown();  // the engines stop; launched models come back at the next start
    ProcessManager::instance().terminate_all(std::chrono::seconds(5));
    log::info("xinfer stopped");
    return 0;
}
}  // namespace

namespace {

// The address other machines reach this node at, for --advertise's default: the host when it
// names one, else the address the system would use to reach `peer_host` (or the first
// non-loopback address of the host name).
std::string outward_address(const std::string& host, const std::string& peer_host) {
    if (host != "0.0.0.0" && host != "::" && !host.empty()) return host;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    std::string out = "127.0.0.1";
    if (fd >= 0 && inet_pton(AF_INET, peer_host.c_str(), &to.sin_addr) == 1 &&
        connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
        sockaddr_in me{};
        socklen_t len = sizeof me;
        char buf[INET_ADDRSTRLEN];
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len) == 0 && inet_ntop(AF_INET, &me.sin_addr, buf, sizeof buf))
            out = buf;
    }
    if (fd >= 0) close(fd);
    return out;
}


int run_supervisor(ServeArgs a, int etcd_port) {
    if (a.cluster.etcd.empty()) {
        const std::string me = a.cluster.advertise.empty() ? outward_address(a.host, "10.255.255.255") : advertise_host(a.cluster.advertise);
        try {
            ProcessManager::instance();
            a.cluster.etcd = {start_embedded_etcd(a.host, me, etcd_port)};
        } catch (const std::exception& e) {
            log::warn(std::string("running alone, without a cluster: ") + e.what());
            return run_serve(a);
        }
        if (a.cluster.advertise.empty()) a.cluster.advertise = "http://" + me + ":" + std::to_string(a.port);
    }
    if (a.cluster.node_name.empty() && !a.cluster.advertise.empty())  // Xinference knows nodes by address
        a.cluster.node_name = advertise_host(a.cluster.advertise) + ":" + std::to_string(a.port);
    return run_serve(a);
}

int run_worker(ServeArgs a, const std::string& endpoint) {
    json info;
    try {
        ApiClient api(Endpoint{endpoint, ""});
        info = api.get("/v1/cluster/etcd");
    } catch (const std::exception& e) {
        log::error("cannot learn the cluster from " + endpoint + ": " + e.what());
        return 1;
    }
    for (auto& url : info.value("endpoints", json::array())) {
        std::string u = url.get<std::string>();
        // An etcd advertised on a wildcard address is reached where the named node is.
        if (advertise_host(u) == "0.0.0.0") u.replace(u.find("0.0.0.0"), 7, advertise_host(endpoint));
        a.cluster.etcd.push_back(u);
    }
    if (a.cluster.advertise.empty())
        a.cluster.advertise = "http://" + outward_address(a.host, advertise_host(endpoint)) + ":" + std::to_string(a.port);
    if (a.cluster.node_name.empty()) a.cluster.node_name = advertise_host(a.cluster.advertise) + ":" + std::to_string(a.port);
    return run_serve(a);
}

void add_server_options(CLI::App* serve, ServeArgs& a) {
    serve->add_option("-H,--host", a.host, "Address to listen on")->capture_default_str()->envname("XINFER_HOST");
    serve->add_option("-p,--port", a.port, "Port")->capture_default_str()->envname("XINFER_PORT");
    serve->add_option("--log-level", a.log_level, "debug, info, warn, error")->capture_default_str();
    serve->add_option("--max-body-mb", a.max_body_mb, "Largest upload accepted (MiB)")
        ->capture_default_str()->envname("XINFER_MAX_BODY_MB");
    serve->add_option("--max-json-mb", a.max_json_mb, "Largest JSON request body accepted (MiB)")
        ->capture_default_str()->envname("XINFER_MAX_JSON_MB");
    serve->add_option("--read-timeout", a.read_timeout_s, "Seconds a client may stay silent mid-request before it is dropped")
        ->capture_default_str()->envname("XINFER_READ_TIMEOUT")->check(CLI::Range(1, 3600));
    serve->add_option("--config", a.config, "Deployment file: the models to run (JSON)")->envname("XINFER_CONFIG");
    serve->add_option("--keep-alive", a.keep_alive, "Unload models idle this long (seconds, or 5m / 1h); -1 never")
        ->envname("XINFER_KEEP_ALIVE");
    serve->add_option("--auth-config", a.auth_config, "Xinference's auth file: users, passwords, permissions, API keys")
        ->envname("XINFER_AUTH_CONFIG");
    serve->add_option("--metrics-token", a.metrics_token,
                      "With --auth-config: a bearer token that may read GET /metrics only (for Prometheus)")
        ->envname("XINFER_METRICS_TOKEN");
    serve->add_option("--model-dirs", a.model_dirs,
                      "Folders models may be launched from by path (with the cache; always enforced when auth is on)")
        ->envname("XINFER_MODEL_DIRS")->delimiter(',');
    serve->add_option("--hub-mirror", a.hub_mirrors, "Hugging Face mirror to download from, tried in order (repeatable)")
        ->envname("XINFER_HUB_MIRRORS")->delimiter(',');
    serve->add_option("--cpu-cores", a.cpu_cores, "Cores in the CPU thread budget (default: this machine's)");
    serve->add_option("--cpu-budget", a.cpu_budget,
                      "shared: when every core is assigned, further models share cores; strict: refuse them (503)")
        ->capture_default_str()->envname("XINFER_CPU_BUDGET");
    serve->add_option("--drain-seconds", a.drain_seconds, "On SIGTERM, how long in-flight requests may finish")
        ->capture_default_str();
    serve->add_option("--etcd", a.cluster.etcd, "Cluster mode: etcd endpoints (http://HOST:2379,...) holding the cluster's state")
        ->envname("XINFER_ETCD")->delimiter(',');
    serve->add_option("--node-name", a.cluster.node_name, "Cluster mode: this node's name (default: the host name)")
        ->envname("XINFER_NODE_NAME");
    serve->add_option("--advertise", a.cluster.advertise,
                      "Cluster mode: the address other nodes reach this one at (http://ADDR:PORT; default http://HOST:PORT)")
        ->envname("XINFER_ADVERTISE");
    serve->add_option("--cluster-token", a.cluster.token, "Cluster mode: shared secret carried by traffic between nodes")
        ->envname("XINFER_CLUSTER_TOKEN");
    serve->add_option("--lease-ttl", a.cluster.lease_ttl_s, "Cluster mode: seconds after which a silent node is taken as gone")
        ->capture_default_str()->envname("XINFER_LEASE_TTL")->check(CLI::Range(2, 300));
    // Xinference's server flags: accepted so its start commands run unchanged. Metrics are served
    // at /metrics on the main port; there is no separate supervisor port.
    serve->add_option("--metrics-exporter-host", a.ignored_flag, "Accepted for Xinference (metrics are at /metrics)");
    serve->add_option("--metrics-exporter-port", a.ignored_flag, "Accepted for Xinference (metrics are at /metrics)");
    serve->add_option("--supervisor-port", a.ignored_flag, "Accepted for Xinference (one port serves everything)");
}
}  // namespace

void add_serve_command(CLI::App& app) {
    auto a = std::make_shared<ServeArgs>();
    auto* serve = app.add_subcommand("serve", "Run the xinfer service (supervisor and worker in one process)");
    serve->alias("local");
    add_server_options(serve, *a);
    serve->callback([a] { exit_code() = run_serve(*a); });

    // xinference-supervisor: a cluster node that also holds the cluster's etcd unless --etcd
    // names one; alone, it is the whole service, as `serve`.
    auto s = std::make_shared<ServeArgs>();
    s->host = "0.0.0.0";
    auto etcd_port = std::make_shared<int>(2379);
    auto* supervisor = app.add_subcommand("supervisor", "Run Xinference's supervisor: a cluster node that workers join");
    add_server_options(supervisor, *s);
    supervisor->add_option("--etcd-port", *etcd_port, "Without --etcd: the port of the etcd this supervisor starts")
        ->capture_default_str();
    supervisor->callback([s, etcd_port] { exit_code() = run_supervisor(*s, *etcd_port); });

    // xinference-worker -e http://SUPERVISOR:9997 -H ADDR: a cluster node that finds the
    // cluster's etcd through the node it names.
    auto w = std::make_shared<ServeArgs>();
    w->host = "0.0.0.0";
    auto endpoint = std::make_shared<std::string>();
    auto* worker = app.add_subcommand("worker", "Run Xinference's worker: join the cluster of the supervisor (or any node) named");
    add_server_options(worker, *w);
    worker->add_option("-e,--endpoint", *endpoint, "A node of the cluster (Xinference's supervisor endpoint)")
        ->required()->envname("XINFERENCE_ENDPOINT");
    worker->add_option("--worker-port", w->port, "Port this worker serves on (as -p)");
    worker->callback([w, endpoint] { exit_code() = run_worker(*w, *endpoint); });
}

}  // namespace xinfer::cli
