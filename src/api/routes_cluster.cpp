// The cluster view (this machine alone, or every node of a cluster) and Prometheus metrics.
#include <sstream>

#include "api/http_util.h"
#include "api/routes.h"
#include "cluster/cluster_node.h"
#include "worker/inventory.h"

namespace xinfer {

namespace {

// One node's entry in /v1/cluster/info, in Xinference's shape plus xinfer's inventory.
json node_info(const json& inventory, const std::string& ip, const std::string& role, const json& reservations) {
    json w = inventory;
    w["node_ip_address"] = ip;
    w["role"] = role;
    w["reservations"] = reservations;
    uint64_t vram = 0;
    for (auto& g : inventory.value("gpus", json::array())) vram += g.value("memory_total_mb", uint64_t{0});
    w["node_type"] = "Worker";
    w["ip_address"] = ip;
    w["gpu_count"] = inventory.value("gpus", json::array()).size();
    w["gpu_vram_total"] = vram ? json(std::to_string(vram) + "MiB") : json(0);
    return w;
}

}  // namespace

void add_cluster_routes(httplib::Server& server, Supervisor& sup, ClusterNode* cluster) {
    server.Get("/v1/cluster/info", guarded([&sup, cluster](const httplib::Request&, httplib::Response& res) {
        json out = json::array();
        if (!cluster) {
            // Xinference's fields: one node is both its supervisor and its worker.
            out.push_back(node_info(read_inventory().to_json(), "127.0.0.1", "supervisor+worker", sup.reservations()));
            out.push_back({{"node_type", "Supervisor"}, {"ip_address", "127.0.0.1"}, {"gpu_count", 0}, {"gpu_vram_total", 0}});
            send_json(res, out);  // this node first: it holds the reservations
            return;
        }
        const std::string self = cluster->config().node_name;
        out.push_back(node_info(read_inventory().to_json(), advertise_host(cluster->config().advertise), "node", sup.reservations()));
        out.back()["node_name"] = self;
        out.back()["advertise"] = cluster->config().advertise;
        for (const NodeInfo& n : cluster->nodes()) {
            if (n.name == self) continue;
            json w = node_info(n.record.value("inventory", json::object()), advertise_host(n.advertise), "node",
                               n.record.value("reservations", json::object()));
            w["node_name"] = n.name;
            w["advertise"] = n.advertise;
            out.push_back(std::move(w));
        }
        // Every node takes management calls; the one answering stands for Xinference's supervisor.
        out.push_back({{"node_type", "Supervisor"}, {"ip_address", advertise_host(cluster->config().advertise)},
                       {"node_name", self}, {"gpu_count", 0}, {"gpu_vram_total", 0}, {"etcd_connected", cluster->connected()},
                       {"placement_leader", cluster->leader()}});
        send_json(res, out);
    }));
    server.Get("/v1/cluster/devices", guarded([](const httplib::Request&, httplib::Response& res) {
        Inventory inv = read_inventory();
        send_json(res, {{"cpu", {{"cores", inv.cpu_cores}, {"ram_total_mb", inv.ram_total_mb},
                                 {"ram_available_mb", inv.ram_available_mb}}},
                        {"gpus", inv.to_json()["gpus"]}});
    }));
    // Where a node joining through this one (xinference-worker -e URL) finds the cluster.
    server.Get("/v1/cluster/etcd", guarded([cluster](const httplib::Request&, httplib::Response& res) {
        if (!cluster) throw not_found("This xinfer runs alone (no --etcd): there is no cluster to join");
        send_json(res, {{"endpoints", cluster->etcd().endpoints()}, {"node", cluster->config().node_name}});
    }));
    // Xinference's shape: [{"work-ip", "models": {replica uid: description}}], one per node.
    server.Get("/v1/workers", guarded([&sup, cluster](const httplib::Request&, httplib::Response& res) {
        auto replicas_of = [](const json& models) {
            json out = json::object();
            for (auto& d : models)
                for (auto& r : d["replicas"]) out[d["model_uid"].get<std::string>() + "-rep" + r["index"].dump()] = d;
            return out;
        };
        const json running = sup.list();  // kept: the loop must not walk a destroyed temporary
        if (!cluster) {
            send_json(res, json::array({{{"work-ip", "127.0.0.1"}, {"address", "127.0.0.1"}, {"role", "embedded worker"},
                                         {"models", replicas_of(running["data"])}}}));
            return;
        }
        json out = json::array();
        for (const NodeInfo& n : cluster->nodes()) {
            const bool self = n.name == cluster->config().node_name;
            out.push_back({{"work-ip", advertise_host(n.advertise)}, {"address", n.advertise}, {"node_name", n.name},
                           {"role", "node"}, {"inventory", n.record.value("inventory", json::object())},
                           {"models", replicas_of(self ? running["data"] : n.record.value("models", json::array()))}});
        }
        send_json(res, out);
    }));
    server.Get("/metrics", guarded([&sup](const httplib::Request&, httplib::Response& res) {
        std::ostringstream m;
        m << "# HELP xinfer_models_loaded Models launched (any state)\n# TYPE xinfer_models_loaded gauge\n";
        json models = sup.metrics();
        m << "xinfer_models_loaded " << models.size() << "\n";
        auto family = [&](const char* name, const char* help, const char* type, const char* field) {
            m << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
            for (auto& x : models)
                m << name << "{model=\"" << x["model"].get<std::string>() << "\",type=\"" << x["type"].get<std::string>()
                  << "\"} " << x[field].dump() << "\n";
        };
        family("xinfer_requests_in_flight", "Requests being served", "gauge", "active");
        family("xinfer_requests_queued", "Requests waiting for a slot under request_limits", "gauge", "waiting");
        family("xinfer_requests_rejected_total", "Requests refused with 429", "counter", "rejected");
        family("xinfer_engine_restarts_total", "Engine processes restarted after dying", "counter", "restarts");
        family("xinfer_replicas", "Replicas of the model", "gauge", "replicas");
        family("xinfer_requests_total", "Requests answered by the model's engines", "counter", "requests");
        family("xinfer_generated_tokens_total", "Tokens generated (streams: one per token event llama-server sends)", "counter",
               "generated_tokens");
        family("xinfer_time_to_first_token_seconds_sum", "Time from a streamed request to its first token event, summed",
               "counter", "first_token_seconds_sum");
        family("xinfer_time_to_first_token_seconds_count", "Streamed requests that sent a first token event", "counter",
               "first_token_count");
        family("xinfer_merged_engine_calls_total", "Engine calls that carried several requests at once (embeddings, rerank)",
               "counter", "merged_calls");
        family("xinfer_merged_requests_total", "Requests answered by such merged calls", "counter", "merged_requests");
        family("xinfer_merged_calls_refused_total", "Merged calls the engine refused as bad input, then sent request by request",
               "counter", "merged_calls_refused");
        res.set_content(m.str(), "text/plain; version=0.0.4");
    }));
}

}  // namespace xinfer
