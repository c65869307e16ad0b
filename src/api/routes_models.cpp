// Xinference's model management: launch, list, describe, instances, progress, events, cancel,
// terminate. Fixed paths (/v1/models/instances, /v1/models/vllm-supported) are registered before
// /v1/models/:uid so the parameter does not swallow them.
#include <algorithm>
#include <cstdlib>

#include "api/cluster_models.h"
#include "api/http_util.h"
#include "api/node_forward.h"
#include "api/routes.h"
#include "cluster/cluster_node.h"
#include "common/json_util.h"
#include "common/subprocess.h"

namespace xinfer {

namespace {

// Xinference's LaunchStatus names for xinfer's life-cycle states (its CLI's launch loop waits for
// READY, ERROR or TERMINATED).
std::string launch_status(const std::string& state) {
    if (state == "launching") return "CREATING";
    if (state == "failed") return "ERROR";
    if (state == "terminating") return "TERMINATING";
    return "READY";  // ready, busy, idle_unloaded (reloads on the next request)
}

json instance_info(const json& d) {
    json replicas = json::array();
    for (auto& r : d["replicas"]) {
        const int id = r["index"];
        std::string status = launch_status(d["status"]);
        // A replica of a serving model that is not running yet is being (re)started.
        if (status == "READY" && !r.value("running", false) && d["status"] != "idle_unloaded") status = "LOADING";
        replicas.push_back({{"replica_id", id},
                            {"replica_model_uid", d["model_uid"].get<std::string>() + "-rep" + std::to_string(id)},
                            {"worker_address", d.value("worker_address", "127.0.0.1")},
                            {"status", status},
                            {"model_state", d["status"]},
                            {"created_ts", d["created"]},
                            {"error_message", d["failure_reason"]},
                            {"replica_uid", nullptr},
                            {"gpu_idx", r.contains("gpus") && !r["gpus"].empty() ? r["gpus"] : json(nullptr)}});
    }
    return {{"model_name", d["model_name"]},
            {"model_uid", d["model_uid"]},
            {"model_version", nullptr},
            {"model_ability", d["model_ability"].is_array() ? d["model_ability"] : json::array()},
            {"replica", d["replica"]},
            {"status", launch_status(d["status"])},
            {"instance_created_ts", d["created"]},
            {"n_worker", 1},
            {"replica_statuses", replicas}};
}

}  // namespace

void add_model_routes(httplib::Server& server, Supervisor& sup, ClusterNode* cluster) {
    server.Post("/v1/models", guarded([&sup, cluster](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        route_launch(cluster, body);
        LaunchRequest launch = LaunchRequest::from_json(body);
        if (req.has_param("wait_ready")) launch.wait_ready = query_flag(req, "wait_ready", true);
        if (cluster && !cluster->connected())
            throw ApiError(503, "The cluster's etcd cannot be reached or has no quorum; launches wait until it is back", "", "",
                           "cluster_unavailable");
        const int replicas = launch.replica;
        const auto shares = plan_launch(cluster, launch);
        std::string uid;
        try {
            uid = sup.launch(launch);
        } catch (const ApiError& e) {
            // A name registered on another node a moment ago: read the cluster's registrations now.
            if (!cluster || e.status() != 404) throw;
            cluster->refresh();
            uid = sup.launch(launch);
        }
        record_launch(cluster, sup, uid, launch, replicas, shares);
        if (launch.wait_ready) {
            try {
                sup.wait_ready(uid);
            } catch (const ApiError&) {
                // The caller gets the reason now; a failed launch does not linger in the list.
                try { sup.terminate(uid); } catch (...) {}
                throw;
            }
        }
        send_json(res, {{"model_uid", uid}});
    }));
    server.Get("/v1/models", guarded([&sup, cluster](const httplib::Request&, httplib::Response& res) {
        send_json(res, cluster_model_list(sup, cluster));
    }));
    // GET /v1/models/instances?model_name=&model_uid=: Xinference's instance list (a uid wins
    // over a name; an unknown uid is an empty list, as upstream answers).
    server.Get("/v1/models/instances", guarded([&sup, cluster](const httplib::Request& req, httplib::Response& res) {
        const std::string uid = req.get_param_value("model_uid"), name = req.get_param_value("model_name");
        json out = json::array();
        const json models = cluster_model_list(sup, cluster);  // kept: the loop must not walk a destroyed temporary
        for (auto& d : models["data"]) {
            if (!uid.empty() ? d["model_uid"] != uid : (!name.empty() && d["model_name"] != name)) continue;
            out.push_back(instance_info(d));
        }
        send_json(res, out);
    }));
    // No vLLM here: Xinference's CLI prints these lists.
    server.Get("/v1/models/vllm-supported", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"chat", json::array()}, {"generate", json::array()}});
    }));
    server.Get("/v1/models/:uid", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        send_json(res, sup.describe(req.path_params.at("uid")));
    }));
    // Launch progress. An unknown uid is not an error here: Xinference answers a pending 0 (its
    // CLI may ask before the launch is registered).
    server.Get("/v1/models/:uid/progress", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        const auto& uid = req.path_params.at("uid");
        json d;
        try {
            d = sup.describe(uid);
        } catch (const ApiError& e) {
            if (e.status() != 404) throw;
            send_json(res, {{"progress", 0.0}, {"stage", "pending"}, {"download_files", json::array()},
                            {"replicas", json::array()}, {"status", nullptr}, {"failure_reason", nullptr}});
            return;
        }
        const std::string state = d["status"];
        json replicas = json::array();
        for (auto& r : d["replicas"])
            replicas.push_back({{"replica_id", r["index"]}, {"progress", d["progress"]}, {"stage", state}});
        // Xinference lists the files being downloaded with their progress; xinfer adds bytes,
        // speed and ETA for the whole download.
        json files = json::array();
        const json& dl = d["download"];
        if (dl.is_object())
            for (auto& f : dl["files"]) files.push_back(f);
        const bool downloading = dl.is_object() && dl.value("state", "") == "downloading";
        send_json(res, {{"progress", d["progress"]},
                        {"stage", downloading ? "downloading" : state == "launching" ? "launching" : state},
                        {"download", dl},
                        {"download_files", files},
                        {"replicas", replicas},
                        {"status", state},
                        {"failure_reason", d["failure_reason"]}});
    }));
    server.Get("/v1/models/:uid/events", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        send_json(res, sup.events(req.path_params.at("uid")));
    }));
    // The last lines of one replica's engine log (for the web UI's "logs"): ?replica=N&lines=K.
    server.Get("/v1/models/:uid/logs", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        const json d = sup.describe(req.path_params.at("uid"));
        const int replica = req.has_param("replica") ? std::atoi(req.get_param_value("replica").c_str()) : 0;
        const int lines = req.has_param("lines") ? std::clamp(std::atoi(req.get_param_value("lines").c_str()), 1, 5000) : 200;
        for (auto& r : d["replicas"])
            if (r.value("index", -1) == replica) {
                send_json(res, {{"replica", replica}, {"log", tail_lines(r.value("log", ""), static_cast<size_t>(lines))}});
                return;
            }
        throw not_found("Model '" + d["model_uid"].get<std::string>() + "' has no replica " + std::to_string(replica), "replica");
    }));
    server.Post("/v1/models/:uid/cancel", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        sup.cancel(req.path_params.at("uid"));
        send_json(res, nullptr);
    }));
    server.Delete("/v1/models/:uid", guarded([&sup, cluster](const httplib::Request& req, httplib::Response& res) {
        const std::string& uid = req.path_params.at("uid");
        const bool was_desired = forget_launch(cluster, uid);
        try {
            sup.terminate(uid);
        } catch (const ApiError& e) {
            // Not running anywhere (its node is gone, or nothing could take it): forgetting it was all.
            if (e.status() != 404 || !was_desired) throw;
        }
        send_json(res, nullptr);
    }));
}

}  // namespace xinfer
