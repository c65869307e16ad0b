// Cluster benchmark: what does a request cost when the node it reaches does not run the model
// and relays it to the node that does, compared with asking that node directly? And how long
// after `kill -9` of the node running a model does the cluster serve it again?
//
// Starts one etcd and three nodes on loopback (`xinfer serve --etcd`), launches the tiny chat
// model on node b, then sends the same short chat requests to b (local: the reference) and to a
// (relayed to b), interleaved, at 1 and 8 clients; prints requests/s, the ratio and the added
// latency. Then kills b and times: b gone from a's routing table, and the first answer through a
// from the replica placed again on another node.
//
//   bench_cluster XINFER_BIN MODEL.gguf [rounds=3] [requests_per_client=40] [lease_ttl_s=3]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "bench_harness.h"
#include "common/http_client.h"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// A one-member etcd in a scratch folder, on loopback ports the kernel picked.
struct Etcd {
    pid_t pid = -1;
    std::string dir, url;
    Etcd() {
        dir = "/tmp/xinfer-bench-etcd-" + std::to_string(getpid());
        const int client = xinfer::free_loopback_port(), peer = xinfer::free_loopback_port();
        url = "http://127.0.0.1:" + std::to_string(client);
        const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
        pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(126);
            execl("/usr/bin/etcd", "etcd", "--data-dir", dir.c_str(), "--listen-client-urls", url.c_str(), "--advertise-client-urls",
                  url.c_str(), "--listen-peer-urls", peer_url.c_str(), "--initial-advertise-peer-urls", peer_url.c_str(),
                  "--initial-cluster", ("default=" + peer_url).c_str(), nullptr);
            _exit(127);
        }
        for (int i = 0; i < 200; ++i) {
            if (auto r = xinfer::make_client(url)->Get("/health"); r && r->status == 200) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::fprintf(stderr, "benchmark: etcd (/usr/bin/etcd, Debian etcd-server) did not start\n");
        std::exit(1);
    }
    ~Etcd() {
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
        std::filesystem::remove_all(dir);
    }
};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string chat_body(int salt) {
    return json{{"model", "chat"},
                {"messages", {{{"role", "user"}, {"content", "hello " + std::to_string(salt)}}}},
                {"max_tokens", 2}, {"temperature", 0}}.dump();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s XINFER_BIN MODEL.gguf [rounds=3] [requests_per_client=40] [lease_ttl_s=3]\n", argv[0]);
        return 2;
    }
    const std::string bin = argv[1], model = argv[2];
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
    const int requests = argc > 4 ? std::atoi(argv[4]) : 40;
    const std::string ttl = argc > 5 ? argv[5] : "3";
    if (access("/usr/bin/etcd", X_OK) != 0) {
        std::fprintf(stderr, "benchmark: needs etcd (apt-get install etcd-server)\n");
        return 1;
    }
    Etcd etcd;
    auto node = [&](const char* name) {
        return std::make_unique<bench::Service>(bin, std::vector<std::string>{"--etcd", etcd.url, "--node-name", name,
                                                                               "--lease-ttl", ttl, "--cluster-token", "bench"});
    };
    auto a = node("a");
    auto b = node("b");
    auto c = node("c");
    bench::post_or_die(a->front(), "/v1/models",
                       json{{"model_uid", "chat"}, {"model_name", "tiny"}, {"model_type", "LLM"}, {"model_path", model},
                            {"worker_ip", "b"}}.dump());

    std::printf("relayed requests (chat, 2 tokens; local = node b, which runs the model; relayed = node a -> b)\n");
    std::printf("%-10s %12s %12s %10s %14s\n", "clients", "local req/s", "relayed", "ratio", "added ms/req");
    for (int clients : {1, 8}) {
        auto rates = bench::interleaved_medians(rounds, requests, [&](int path, int n) {
            const std::string front = path == 0 ? b->front() : a->front();
            const double s = bench::run_concurrent(clients, n, [&](int w, int i) {
                bench::post_or_die(front, "/v1/chat/completions", chat_body(w * 100000 + i));
            });
            return clients * n / s;
        });
        const double added = (1000.0 / rates.xinfer - 1000.0 / rates.reference) * clients;
        std::printf("%-10d %12.1f %12.1f %10.3f %14.3f\n", clients, rates.reference, rates.xinfer, rates.xinfer / rates.reference,
                    added);
    }

    // Failover: kill -9 of b, which runs the model's only replica.
    const pid_t victim = b->pid();
    const auto t0 = Clock::now();
    kill(victim, SIGKILL);
    double gone_ms = -1, served_ms = -1;
    // Watched apart: a request for the model waits (up to 20 s) while no node serves it.
    std::thread watch_routing([&] {
        auto api = xinfer::make_client(a->front());
        while (ms_since(t0) < 60000 && gone_ms < 0) {
            auto w = api->Get("/v1/workers");
            if (w && w->status == 200 && w->body.find("\"node_name\":\"b\"") == std::string::npos) gone_ms = ms_since(t0);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    auto api = xinfer::make_client(a->front());
    while (ms_since(t0) < 60000 && served_ms < 0) {
        auto r = api->Post("/v1/chat/completions", chat_body(1), "application/json");
        if (r && r->status == 200) served_ms = ms_since(t0);
        else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    watch_routing.join();
    std::printf("\nfailover after kill -9 of the node running the model (lease TTL %s s)\n", ttl.c_str());
    // The lease lapses TTL after the node's last renewal (it renews every TTL/3), so up to a third
    // of the TTL before kill + TTL.
    std::printf("  gone from routing:        %8.0f ms\n", gone_ms);
    std::printf("  served again (new node):  %8.0f ms\n", served_ms);
    if (served_ms < 0) {
        std::fprintf(stderr, "benchmark: the model was not served again within 60 s\n");
        return 1;
    }
    return 0;
}
