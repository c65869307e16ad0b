// The cluster view (one worker today: this machine) and Prometheus metrics.
#include <sstream>

#include "api/http_util.h"
#include "api/routes.h"
#include "worker/inventory.h"

namespace xinfer {

void add_cluster_routes(httplib::Server& server, Supervisor& sup) {
    server.Get("/v1/cluster/info", guarded([&sup](const httplib::Request&, httplib::Response& res) {
        Inventory inv = read_inventory();
        json w = inv.to_json();
        w["node_ip_address"] = "127.0.0.1";
        w["role"] = "supervisor+worker";
        w["reservations"] = sup.reservations();
        // Xinference's fields: one node is both its supervisor and its worker.
        uint64_t vram = 0;
        for (auto& g : inv.gpus) vram += g.memory_total_mb;
        w["node_type"] = "Worker";
        w["ip_address"] = "127.0.0.1";
        w["gpu_count"] = inv.gpus.size();
        w["gpu_vram_total"] = vram ? json(std::to_string(vram) + "MiB") : json(0);
        json supervisor = {{"node_type", "Supervisor"}, {"ip_address", "127.0.0.1"}, {"gpu_count", 0}, {"gpu_vram_total", 0}};
        send_json(res, json::array({w, supervisor}));  // this node first: it holds the reservations
    }));
    server.Get("/v1/cluster/devices", guarded([](const httplib::Request&, httplib::Response& res) {
        Inventory inv = read_inventory();
        send_json(res, {{"cpu", {{"cores", inv.cpu_cores}, {"ram_total_mb", inv.ram_total_mb},
                                 {"ram_available_mb", inv.ram_available_mb}}},
                        {"gpus", inv.to_json()["gpus"]}});
    }));
    // Xinference's shape: [{"work-ip", "models": {replica uid: description}}].
    server.Get("/v1/workers", guarded([&sup](const httplib::Request&, httplib::Response& res) {
        json models = json::object();
        const json running = sup.list();  // kept: the loop must not walk a destroyed temporary
        for (auto& d : running["data"])
            for (auto& r : d["replicas"]) models[d["model_uid"].get<std::string>() + "-rep" + r["index"].dump()] = d;
        send_json(res, json::array({{{"work-ip", "127.0.0.1"}, {"address", "127.0.0.1"}, {"role", "embedded worker"},
                                     {"models", models}}}));
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
        family("xinfer_merged_engine_calls_total", "Engine calls that carried several requests at once (embeddings)", "counter",
               "merged_calls");
        family("xinfer_merged_requests_total", "Requests answered by such merged calls", "counter", "merged_requests");
        res.set_content(m.str(), "text/plain; version=0.0.4");
    }));
}

}  // namespace xinfer
