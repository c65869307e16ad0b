#include "bench_harness.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/http_client.h"

namespace bench {

using json = nlohmann::json;

namespace {
// In a forked child: a benchmark stopped by a signal (Ctrl-C, kill) runs no destructors, and the
// servers it started would stay up, busy cores under the next measurement.
void die_with_benchmark() { prctl(PR_SET_PDEATHSIG, SIGTERM); }
}  // namespace

Service::Service(const std::string& bin, const std::vector<std::string>& extra_args) {
    // Several services may run in one benchmark: each has its own home and a port the kernel picked.
    static std::atomic<int> instances{0};
    home_ = "/tmp/xinfer-bench-" + std::to_string(getpid()) + "-" + std::to_string(instances++);
    const int port = xinfer::free_loopback_port();
    front_ = "127.0.0.1:" + std::to_string(port);
    const auto t0 = std::chrono::steady_clock::now();
    pid_ = fork();
    if (pid_ == 0) {
        die_with_benchmark();
        setenv("XINFER_HOME", home_.c_str(), 1);
        if (!freopen("/dev/null", "w", stderr)) _exit(126);
        std::vector<std::string> args = {bin, "serve", "-p", std::to_string(port), "--log-level", "warn"};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    auto api = xinfer::make_client(front_);
    for (int i = 0; i < 20000; ++i) {
        if (api->Get("/status")) {
            start_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::fprintf(stderr, "benchmark: xinfer did not answer on %s within 20 s\n", front_.c_str());
    std::exit(1);
}

Service::~Service() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(home_);
}

std::string Service::launch(const json& body) {
    std::string uid = json::parse(post_or_die(front_, "/v1/models", body.dump()))["model_uid"];
    auto api = xinfer::make_client(front_);
    return json::parse(api->Get("/v1/models/" + uid)->body)["replicas"][0]["address"];
}

double run_concurrent(int concurrency, int per_worker, const std::function<void(int, int)>& fn) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < concurrency; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < per_worker; ++i) fn(w, i);
        });
    for (auto& t : threads) t.join();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string post_or_die(const std::string& address, const std::string& path, const std::string& body) {
    auto c = xinfer::make_client(address);
    return post_or_die(*c, path, body);
}

std::string post_or_die(httplib::Client& c, const std::string& path, const std::string& body) {
    c.set_read_timeout(600, 0);
    auto r = c.Post(path, body, "application/json");
    if (!r || r->status != 200) {
        std::fprintf(stderr, "benchmark request to %s:%d%s failed: %s\n", c.host().c_str(), c.port(), path.c_str(),
                     r ? r->body.c_str() : httplib::to_string(r.error()).c_str());
        std::exit(1);
    }
    return r->body;
}

PairedRates interleaved_medians(int rounds, int requests, const std::function<double(int, int)>& rate) {
    rate(0, 2);
    rate(1, 2);
    std::vector<double> rates[2];
    for (int r = 0; r < rounds; ++r)
        for (int k = 0; k < 2; ++k) {
            const int path = (r + k) % 2;
            rates[path].push_back(rate(path, requests));
        }
    return {median(rates[0]), median(rates[1])};
}

std::vector<std::vector<double>> interleaved_rounds(int rounds, int requests, int paths,
                                                    const std::function<double(int, int)>& rate) {
    for (int p = 0; p < paths; ++p) rate(p, 2);
    std::vector<std::vector<double>> rates(static_cast<size_t>(paths));
    for (int r = 0; r < rounds; ++r)
        for (int k = 0; k < paths; ++k) {
            const int path = (r + k) % paths;
            rates[static_cast<size_t>(path)].push_back(rate(path, requests));
        }
    return rates;
}

RatioSpread round_ratios(const std::vector<double>& numerator, const std::vector<double>& denominator) {
    std::vector<double> r;
    for (size_t i = 0; i < std::min(numerator.size(), denominator.size()); ++i)
        if (denominator[i] > 0) r.push_back(numerator[i] / denominator[i]);
    if (r.empty()) return {};
    std::sort(r.begin(), r.end());
    const size_t n = r.size();
    RatioSpread s;
    s.median = n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
    s.low = r.front();
    s.high = r.back();
    // The median lies below the k-th smallest ratio with probability P(Binomial(n, 1/2) < k):
    // the widest k whose two tails stay within 6 % (so that 5 rounds still give a range).
    std::vector<double> below(n + 1, 0);  // below[k] = P(X < k)
    double term = std::pow(0.5, static_cast<double>(n));  // P(X = 0)
    for (size_t k = 1; k <= n; ++k) {
        below[k] = below[k - 1] + term;
        term = term * static_cast<double>(n - k + 1) / static_cast<double>(k);
    }
    size_t k = 1;
    while (k + 1 <= (n + 1) / 2 && 2 * below[k + 1] <= 0.06) ++k;
    s.ci_low = r[k - 1];
    s.ci_high = r[n - k];
    s.confidence = 1 - 2 * below[k];
    return s;
}

std::vector<std::string> engine_args(const std::string& front, const std::string& uid) {
    auto api = xinfer::make_client(front);
    auto r = api->Get("/v1/models/" + uid);
    if (!r) std::exit(1);
    const int pid = json::parse(r->body)["replicas"][0]["pid"];
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
    if (!args.empty()) args.erase(args.begin());
    // xinfer turned llama.cpp's weight repacking off for its engines (the CPU's AMX kernels
    // crash: worker/repack_fallback.h): the references run the same way.
    std::ifstream env("/proc/" + std::to_string(pid) + "/environ");
    for (std::string e; std::getline(env, e, '\0');)
        if (e == "LLAMA_ARG_REPACK=0") args.push_back("--no-repack");
    return args;
}

std::vector<std::string> llama_server_encoder_args(const std::string& front, const std::string& uid) {
    auto api = xinfer::make_client(front);
    auto r = api->Get("/v1/models/" + uid);
    if (!r || r->status != 200) std::exit(1);
    const json m = json::parse(r->body);
    const std::vector<std::string> host = engine_args(front, uid);
    auto host_flag = [&](const std::string& flag, const std::string& fallback) {
        for (size_t i = 0; i + 1 < host.size(); ++i)
            if (host[i] == flag) return host[i + 1];
        return fallback;
    };
    const long long trained = m.value("context_length", 0LL);
    const std::string per_input = host_flag("--context", std::to_string(trained > 0 ? std::min(trained, 8192LL) : 4096LL));
    std::vector<std::string> args = {"--model", m["model_path"].get<std::string>(), "--no-webui", "--metrics", "--alias", uid,
            m["model_type"] == "rerank" ? "--rerank" : "--embedding", "--parallel", "4",
            "--ctx-size", std::to_string(4 * std::stoll(per_input)), "--batch-size", per_input, "--ubatch-size", per_input,
            "--poll", "0", "--threads", std::getenv("BENCH_DIRECT_THREADS") ? std::getenv("BENCH_DIRECT_THREADS") : host_flag("--threads", "1"),
            "--threads-http", "16",
            // On the GPU when the model host is (placement gave it one): every layer, as the host does.
            "--n-gpu-layers", std::find(host.begin(), host.end(), "--gpu") != host.end() ? "999" : "0"};
    // As the replica's model host runs: with llama.cpp's weight repacking on or off.
    if (std::find(host.begin(), host.end(), "--no-repack") != host.end()) args.push_back("--no-repack");
    return args;
}

namespace {
// Starts argv[0] with its output in `log`; the child's pid.
pid_t spawn_logged(std::vector<std::string> argv, const std::string& log) {
    const pid_t pid = fork();
    if (pid == 0) {
        die_with_benchmark();
        if (!freopen(log.c_str(), "w", stderr) || !freopen(log.c_str(), "a", stdout)) _exit(126);
        std::vector<char*> c;
        for (auto& a : argv) c.push_back(a.data());
        c.push_back(nullptr);
        execv(c[0], c.data());
        _exit(127);
    }
    return pid;
}

void stop_child(pid_t pid) {
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
    }
}
}  // namespace

Engine::Engine(const std::string& program, const std::vector<std::string>& args) {
    const int port = xinfer::free_loopback_port();
    address_ = "127.0.0.1:" + std::to_string(port);
    std::vector<std::string> argv = {program};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--host", "127.0.0.1", "--port", std::to_string(port)});
    const std::string log = "/tmp/xinfer-bench-engine-" + std::to_string(getpid()) + ".log";
    pid_ = spawn_logged(argv, log);
    auto api = xinfer::make_client(address_);
    for (int i = 0; i < 1200; ++i) {
        auto r = api->Get("/health");
        if (r && r->status == 200) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::fprintf(stderr, "benchmark: %s did not become ready (log in %s)\n", program.c_str(), log.c_str());
    std::exit(1);
}

Engine::~Engine() { stop_child(pid_); }

Router::Router(const std::string& llama_server, const std::vector<std::pair<std::string, std::vector<std::string>>>& models) {
    dir_ = "/tmp/xinfer-bench-router-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    const std::string ini = dir_ + "/models.ini";
    {
        std::ofstream out(ini);
        for (auto& [name, args] : models) {
            out << "[" << name << "]\nload-on-startup = true\n";
            // Each --flag [value] of the replica's command line, but where it listens and its name.
            for (size_t i = 0; i < args.size(); ++i) {
                if (args[i].rfind("--", 0) != 0) continue;
                const std::string key = args[i].substr(2);
                const bool has_value = i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0;
                const std::string value = has_value ? args[i + 1] : "true";
                if (key != "host" && key != "port" && key != "alias" && key != "no-webui" && key != "metrics")
                    out << key << " = " << value << "\n";
            }
        }
    }
    const int port = xinfer::free_loopback_port();
    address_ = "127.0.0.1:" + std::to_string(port);
    pid_ = spawn_logged({llama_server, "--models-preset", ini, "--host", "127.0.0.1", "--port", std::to_string(port), "--models-max",
                         std::to_string(models.size()), "--no-webui"},
                        dir_ + "/router.log");
    // Ready when every model answers through it.
    auto api = xinfer::make_client(address_);
    for (auto& [name, args] : models) {
        bool up = false;
        for (int i = 0; i < 600 && !up; ++i) {
            auto r = api->Get("/v1/models");
            up = r && r->status == 200 && r->body.find("\"" + name + "\"") != std::string::npos &&
                 r->body.find("\"loaded\"") != std::string::npos;
            if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!up) {
            std::fprintf(stderr, "benchmark: llama-server's router did not load %s (log in %s/router.log)\n", name.c_str(), dir_.c_str());
            std::exit(1);
        }
    }
}

Router::~Router() {
    stop_child(pid_);
    std::filesystem::remove_all(dir_);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace bench
