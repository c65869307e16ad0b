// Replicas at run time, as Xinference's client drives them: add one (POST, answering its id and
// replica uid), remove any one by id (DELETE, answering how many remain), list them (GET).
// xinfer also takes {"replica": N} to set the count in one call. In a cluster the call reaches a
// node that runs the model: adding one or removing one by id is that node's, and the desired
// state follows; {"replica": N} sets the count over the whole cluster.
#include "api/cluster_models.h"
#include "api/http_util.h"
#include "api/routes.h"
#include "common/json_util.h"

namespace xinfer {

void add_replica_routes(httplib::Server& server, Supervisor& sup, ClusterNode* cluster) {
    server.Get("/v1/models/:uid/replicas", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        send_json(res, sup.describe(req.path_params.at("uid"))["replicas"]);
    }));
    server.Post("/v1/models/:uid/replicas", guarded([&sup, cluster](const httplib::Request& req, httplib::Response& res) {
        const auto& uid = req.path_params.at("uid");
        json body = req.body.empty() ? json::object() : parse_json_object(req.body);
        if (auto n = opt_int(body, "replica")) {
            if (cluster) {
                scale_in_cluster(*cluster, sup, uid, static_cast<int>(*n));
                for (auto& m : cluster_model_list(sup, cluster)["data"])
                    if (m.value("model_uid", "") == uid) send_json(res, m["replicas"]);
                return;
            }
            sup.scale(uid, static_cast<int>(*n));
            send_json(res, sup.describe(uid)["replicas"]);
            return;
        }
        if (body.contains("replica_config") && !body["replica_config"].is_null() && !body["replica_config"].is_object())
            throw bad_request("Invalid replica_config: expected a dict with a single device entry.", "replica_config");
        const int id = sup.add_replica(uid);
        record_share(cluster, sup, uid);
        send_json(res, {{"replica_id", id},
                        {"replica_model_uid", uid + "-rep" + std::to_string(id)},
                        {"worker_address", "127.0.0.1"}});
    }));
    server.Delete("/v1/models/:uid/replicas/:id", guarded([&sup, cluster](const httplib::Request& req, httplib::Response& res) {
        const auto& uid = req.path_params.at("uid");
        const std::string& text = req.path_params.at("id");
        if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
            throw bad_request("replica id must be a number, not '" + text + "'", "replica_id");
        const int remaining = sup.remove_replica(uid, std::stoi(text));
        record_share(cluster, sup, uid);
        send_json(res, {{"remaining_replicas", remaining + replicas_elsewhere(cluster, uid)}});
    }));
}

}  // namespace xinfer
