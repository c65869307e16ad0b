#include "cli/serve_cluster.h"

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "api/cluster_models.h"
#include "api/node_forward.h"
#include "common/http_client.h"
#include "common/log.h"
#include "worker/inventory.h"

namespace xinfer::cli {

using json = nlohmann::json;

namespace {

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "node";
    return buf;
}

// The inventory as published: read at most every 10 s (nvidia-smi is slow) and available memory
// rounded to 256 MiB, so the record is not rewritten for every page the machine frees.
json published_inventory() {
    static std::mutex mu;
    static json cached;
    static std::chrono::steady_clock::time_point read_at;
    std::lock_guard lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (cached.is_null() || now - read_at > std::chrono::seconds(10)) {
        Inventory inv = read_inventory();
        inv.ram_available_mb = inv.ram_available_mb / 256 * 256;
        cached = inv.to_json();
        read_at = now;
    }
    return cached;
}

}  // namespace

void ClusterSession::leave() {
    if (agent) agent->stop();
    if (node) node->stop();
}

std::unique_ptr<ClusterSession> join_cluster(const ClusterArgs& args, Supervisor& supervisor, Registry& registry,
                                             std::shared_ptr<Authenticator> auth, const std::string& host, int port) {
    if (args.etcd.empty()) return nullptr;
    ClusterConfig c;
    c.etcd = args.etcd;
    c.node_name = args.node_name.empty() ? host_name() : args.node_name;
    c.token = args.token;
    c.lease_ttl_s = args.lease_ttl_s;
    c.advertise = args.advertise;
    if (c.advertise.empty()) {
        if (host == "0.0.0.0" || host == "::" || host.empty())
            throw std::runtime_error("listening on " + host + ": give --advertise http://ADDR:PORT, the address other nodes reach this one at");
        c.advertise = "http://" + host + ":" + std::to_string(port);
    }
    if (c.advertise.find("://") == std::string::npos) c.advertise = "http://" + c.advertise;
    // Every other node connects to it: one they could not connect to would fail each request
    // they send here, so it is refused now, at this node's start.
    if (const std::string why = unusable_address(c.advertise); !why.empty())
        throw std::runtime_error("--advertise " + args.advertise + " is not an address other nodes can connect to: " + why);
    if (port == 0) throw std::runtime_error("cluster mode needs a fixed --port: other nodes reach this one at its advertised address");
    if (c.token.empty())
        log::warn("cluster: no --cluster-token: any program that can reach this port can relay requests as another node");
    Supervisor* sup = &supervisor;
    auto node = std::make_unique<ClusterNode>(c, [sup] {
        return json{{"inventory", published_inventory()}, {"reservations", sup->reservations()}, {"models", published_models(*sup)}};
    });
    ClusterNode* raw = node.get();
    set_node_forwarding({c.node_name, c.token, raw});
    supervisor.set_remote_models([raw, sup](const std::string& model) {
        if (request_came_from_node()) return;  // the sender thought it was here: never relay twice
        if (auto n = raw->node_for_model(model)) throw RoutedElsewhere{n->name, n->advertise};
        // Launched, but no node serves it this moment (its node died and it is being placed
        // again): wait for it, as requests wait through a reload, rather than answer 404.
        if (!raw->is_desired(model)) return;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (auto n = raw->node_for_model(model)) throw RoutedElsewhere{n->name, n->advertise};
            if (sup->runs(model)) throw RetryHere{};
        }
        throw ApiError(503, "Model '" + model + "' is launched but no node serves it now (see GET /v1/models for why)", "", "",
                       "model_unavailable");
    });
    supervisor.set_balance([raw](const std::string& uid, int active, int replicas, bool ready) {
        if (request_came_from_node()) return;
        if (auto n = raw->less_busy_node(uid, active, replicas, ready)) throw RoutedElsewhere{n->name, n->advertise};
    });
    node->start();
    auto session = std::make_unique<ClusterSession>();
    session->agent = std::make_unique<ClusterAgent>(*node, supervisor, registry, std::move(auth));
    session->node = std::move(node);
    session->agent->start();
    return session;
}

}  // namespace xinfer::cli
