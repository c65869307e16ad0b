#include "api/cluster_models.h"

#include <algorithm>
#include <set>

#include "api/node_forward.h"
#include "cluster/cluster_node.h"
#include "common/errors.h"

namespace xinfer {

using json = nlohmann::json;

json published_models(const Supervisor& sup) {
    json out = json::array();
    const json list = sup.list();  // kept: the loop must not walk a destroyed temporary
    for (auto m : list["data"]) {
        for (const char* volatile_field : {"in_flight", "requests", "address"}) m.erase(volatile_field);
        if (m["status"] == "busy") m["status"] = "ready";
        for (auto& r : m["replicas"]) r.erase("in_flight");
        out.push_back(std::move(m));
    }
    return out;
}

json cluster_model_list(const Supervisor& sup, const ClusterNode* cluster) {
    json list = sup.list();
    if (!cluster) return list;
    const std::string self = cluster->config().node_name;
    for (auto& m : list["data"]) {
        m["node"] = self;
        m["worker_address"] = advertise_host(cluster->config().advertise);
        for (auto& r : m["replicas"]) r["node"] = self;
    }
    std::set<std::string> listed;
    for (auto& m : list["data"]) listed.insert(m.value("model_uid", ""));
    for (const NodeInfo& n : cluster->nodes()) {
        if (n.name == self) continue;
        for (auto m : n.record.value("models", json::array())) {
            m["node"] = n.name;
            m["worker_address"] = advertise_host(n.advertise);
            for (auto& r : m["replicas"]) r["node"] = n.name;
            const std::string uid = m.value("model_uid", "");
            if (listed.insert(uid).second) {
                list["data"].push_back(std::move(m));
                continue;
            }
            // Replicas of one model on several nodes: one entry, every replica in it.
            for (auto& e : list["data"])
                if (e.value("model_uid", "") == uid)
                    for (auto& r : m["replicas"]) e["replicas"].push_back(r);
        }
    }
    for (auto& m : list["data"]) m["replica"] = m["replicas"].size();
    // Launched models no node runs right now: being moved from a node that is gone, or waiting
    // for a node that can take them (failure_reason says which).
    for (const DesiredModel& d : cluster->desired()) {
        if (listed.count(d.uid)) continue;
        const json& r = d.request;
        list["data"].push_back({{"id", d.uid}, {"object", "model"}, {"owned_by", "xinfer"}, {"model_uid", d.uid},
                                {"model_name", r.value("model_name", "")}, {"model_type", r.value("model_type", "LLM")},
                                {"model_ability", json::array()}, {"replica", r.value("replica", 1)}, {"replicas", json::array()},
                                {"status", d.failure.empty() ? "launching" : "failed"},
                                {"failure_reason", d.failure.empty() ? json(nullptr) : json(d.failure)},
                                {"launch_params", r}, {"nodes", d.nodes}, {"created", 0}});
    }
    return list;
}

void route_launch(const ClusterNode* cluster, json& body) {
    if (!cluster) return;
    const std::string self = cluster->config().node_name;
    if (auto ip = body.find("worker_ip"); ip != body.end() && ip->is_string() && !ip->get<std::string>().empty()) {
        auto node = cluster->find_node(ip->get<std::string>());
        if (!node) {
            std::string names;
            for (auto& n : cluster->nodes()) names += (names.empty() ? "" : ", ") + n.name + " (" + n.advertise + ")";
            throw bad_request("No node '" + ip->get<std::string>() + "' in the cluster; its nodes: " + names, "worker_ip");
        }
        if (node->name != self) {
            if (request_came_from_node()) throw bad_request("worker_ip names node '" + node->name + "', not this one", "worker_ip");
            throw RoutedElsewhere{node->name, node->advertise};
        }
        body.erase("worker_ip");  // honoured: the launch is here
    }
    if (auto uid = body.find("model_uid"); uid != body.end() && uid->is_string())
        for (auto& d : cluster->desired())
            if (d.uid == uid->get<std::string>() && d.share(self) == 0)
                throw conflict("Model '" + d.uid + "' is already launched in the cluster");
}

std::map<std::string, int> plan_launch(const ClusterNode* cluster, LaunchRequest& launch) {
    if (!cluster) return {};
    const std::string self = cluster->config().node_name;
    std::vector<std::pair<int64_t, std::string>> others;  // (free MiB, name), most free first
    for (auto& n : cluster->nodes())
        if (n.name != self) others.push_back({n.record.value("inventory", json::object()).value("ram_available_mb", int64_t{0}), n.name});
    std::sort(others.begin(), others.end(), std::greater<>());
    std::map<std::string, int> shares{{self, 1}};
    for (int i = 1; i < launch.replica; ++i) {
        const size_t k = static_cast<size_t>(i) % (others.size() + 1);
        shares[k == 0 ? self : others[k - 1].second]++;
    }
    launch.replica = shares[self];
    return shares;
}

void record_launch(ClusterNode* cluster, Supervisor& sup, const std::string& uid, const LaunchRequest& launch, int replicas,
                   const std::map<std::string, int>& shares) {
    if (!cluster) return;
    DesiredModel d;
    d.uid = uid;
    d.nodes = shares;
    d.request = launch.to_json();
    d.request["model_uid"] = uid;
    d.request["replica"] = replicas;
    d.request.erase("wait_ready");
    try {
        cluster->put_desired(d);
    } catch (const std::exception& e) {
        try {
            sup.terminate(uid);
        } catch (...) {
        }
        throw ApiError(503, std::string("The cluster's etcd did not take the launch: ") + e.what(), "", "", "cluster_unavailable");
    }
}

int replicas_elsewhere(const ClusterNode* cluster, const std::string& uid) {
    if (!cluster) return 0;
    int n = 0;
    for (auto& d : cluster->desired())
        if (d.uid == uid)
            for (auto& [node, count] : d.nodes) n += node == cluster->config().node_name ? 0 : count;
    return n;
}

void record_share(ClusterNode* cluster, const Supervisor& sup, const std::string& uid) {
    if (!cluster) return;
    for (auto d : cluster->desired()) {
        if (d.uid != uid) continue;
        d.nodes[cluster->config().node_name] = static_cast<int>(sup.describe(uid)["replicas"].size());
        int total = 0;
        for (auto& [node, count] : d.nodes) total += count;
        d.request["replica"] = total;
        try {
            cluster->put_desired(d);
        } catch (const std::exception& e) {
            throw ApiError(503, std::string("The replicas changed here, but the cluster's etcd did not take it: ") + e.what(), "",
                           "", "cluster_unavailable");
        }
        return;
    }
}

void scale_in_cluster(ClusterNode& cluster, Supervisor& sup, const std::string& uid, int count) {
    if (count < 1 || count > 64) throw bad_request("replica count must be between 1 and 64", "replica");
    const std::string self = cluster.config().node_name;
    for (auto d : cluster.desired()) {
        if (d.uid != uid) continue;
        int total = 0;
        for (auto& [node, n] : d.nodes) total += n;
        // More: each to the live node with no replica of it yet, else the most free memory.
        std::map<std::string, int64_t> free_mb;
        for (auto& n : cluster.nodes())
            free_mb[n.name] = n.record.value("inventory", json::object()).value("ram_available_mb", int64_t{0});
        for (; total < count; ++total) {
            std::string best = self;
            for (auto& [name, mb] : free_mb) {
                const bool has = d.share(name) > 0, best_has = d.share(best) > 0;
                if (has != best_has ? !has : mb > free_mb[best]) best = name;
            }
            d.nodes[best]++;
        }
        for (; total > count; --total) {
            auto most = d.nodes.end();
            for (auto it = d.nodes.begin(); it != d.nodes.end(); ++it)
                if (most == d.nodes.end() || it->second > most->second || (it->second == most->second && most->first == self))
                    most = it;
            if (--most->second == 0) d.nodes.erase(most);
        }
        d.request["replica"] = count;
        if (const int mine = d.share(self); mine > 0) sup.scale(uid, mine);  // 409 unless ready: nothing written
        try {
            cluster.put_desired(d);
        } catch (const std::exception& e) {
            throw ApiError(503, std::string("The cluster's etcd did not take the new count: ") + e.what(), "", "",
                           "cluster_unavailable");
        }
        return;
    }
    sup.scale(uid, count);  // not in the desired state (yet): this node's own
}

bool forget_launch(ClusterNode* cluster, const std::string& uid) {
    if (!cluster) return false;
    try {
        return cluster->remove_desired(uid);
    } catch (const std::exception& e) {
        throw ApiError(503, std::string("The cluster's etcd cannot be changed now: ") + e.what(), "", "", "cluster_unavailable");
    }
}

}  // namespace xinfer
