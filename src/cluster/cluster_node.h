// This node's membership of an xinfer cluster, and its live view of every other node.
//
// The cluster's desired state lives beside it: /xinfer/models/<uid> for every launched model with
// the node it is assigned to. One node at a time holds /xinfer/leader (under its lease) and
// assigns models whose node is gone; its writes are transactions that check it still holds
// that key, so two leaders never place the same model twice.
//
// Each node writes one record, /xinfer/nodes/<name>, under a lease it keeps alive: its advertised
// address, its inventory (cores, memory, GPUs) and the models it runs. When the node dies the
// lease lapses and etcd deletes the record; every node watches /xinfer/nodes/, so a dead node
// leaves every routing table at once (and a re-read every few seconds covers a watch that hangs
// on a member cut off from the others).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/etcd_client.h"

namespace xinfer {

struct ClusterConfig {
    std::vector<std::string> etcd;   // endpoints
    std::string node_name;
    std::string advertise;           // http://ADDR:PORT other nodes reach this one at
    std::string token;               // shared secret carried by traffic between nodes
    int lease_ttl_s = 10;            // a silent node is gone after this long
    std::string prefix = "/xinfer/";
};

// One launched model of the cluster, /xinfer/models/<uid>: the launch request, how many of its
// replicas each node runs (empty while no node can take it) and why it is not running, when it
// is not. A node runs its share as one local model of that uid.
struct DesiredModel {
    std::string uid, failure;
    std::map<std::string, int> nodes;  // node name -> replicas there
    std::set<std::string> refused;     // nodes that could not start it (placement tries others)
    nlohmann::json request;
    int share(const std::string& node) const {
        auto it = nodes.find(node);
        return it == nodes.end() ? 0 : it->second;
    }
    nlohmann::json to_json() const;
    static DesiredModel from_json(const std::string& uid, const nlohmann::json& j);
};

struct NodeInfo {
    std::string name, advertise;
    nlohmann::json record;  // {name, advertise, inventory, models: [...], started}
};

// The host part of an advertised address (what Xinference calls a worker's ip).
std::string advertise_host(std::string url);

class ClusterNode {
public:
    // describe_self: {"inventory": {...}, "models": [...]}, asked every second; the record is
    // written again only when it changed.
    ClusterNode(ClusterConfig config, std::function<nlohmann::json()> describe_self);
    ~ClusterNode();

    // Registers this node (throws EtcdUnavailable when etcd cannot be reached, or a runtime_error
    // when a live node already has this name) and starts the keep-alive and watch threads.
    void start();
    // Deletes this node's record (its lease) and stops the threads.
    void stop();

    const ClusterConfig& config() const { return config_; }
    EtcdClient& etcd() { return etcd_; }

    // Every live node, this one included, by name.
    std::vector<NodeInfo> nodes() const;
    // The advertised address of another node that runs `model` (a uid, or a name exactly one
    // model in the cluster has); among several, the one with the fewest requests this node has
    // sent it and not yet seen answered. nullopt when no other node has it.
    std::optional<NodeInfo> node_for_model(const std::string& model) const;
    // Another node running replicas of `uid` that are less busy than this node's (`active`
    // requests on `replicas` replicas; any ready one when this node's are not `ready`), judged
    // by the requests this node has sent each node and not yet seen answered; nullopt when this
    // node's own are as good.
    std::optional<NodeInfo> less_busy_node(const std::string& uid, int active, int replicas, bool ready) const;
    // A node that refused a connection (killed, cut off) is left out of routing for one lease
    // TTL, by which time its lease has lapsed or it answers again.
    void suspect(const std::string& node);
    // A node by name, advertised address or host (Xinference's worker_ip).
    std::optional<NodeInfo> find_node(const std::string& name_or_ip) const;
    // Whether this node renewed its lease within the TTL (false while cut off from etcd, or
    // while etcd has no quorum).
    bool connected() const;
    // Whether the desired state was read from etcd after the last lease renewal: after a cut,
    // the snapshot from before it may still hand this node models that moved meanwhile.
    bool desired_read_since_renewal() const;
    // Whether this node has failed to renew its lease for longer than the TTL and cannot reach
    // most of the other nodes either: cut off from the cluster, which has taken it as gone (and
    // may run its models elsewhere). When etcd as a whole lost its quorum the nodes still reach
    // each other, and this stays false: they keep serving what they know.
    bool cut_off() const;

    // Desired state. The snapshot is re-read every second; the writes throw EtcdUnavailable.
    std::vector<DesiredModel> desired() const;
    // Whether the desired state has a model by this uid or launched under this name.
    bool is_desired(const std::string& model) const;
    void put_desired(const DesiredModel& model);
    bool remove_desired(const std::string& uid);  // whether it was there
    // Leader only: writes the assignment if this node still leads; false when it does not.
    bool assign_desired(const DesiredModel& model);
    bool is_leader() const { return leader_revision_ > 0; }

    // Documents every node shares, by folder: "registrations" (custom model specs, "type/name"
    // -> spec JSON) and "keys" (API keys made at run time, id -> record with its hash). The
    // snapshot is re-read every second; the writes throw EtcdUnavailable.
    std::map<std::string, std::string> shared(const std::string& folder) const;
    void put_shared(const std::string& folder, const std::string& name, const std::string& text);
    void remove_shared(const std::string& folder, const std::string& name);
    // Called (on the thread that read them) after each re-read of the shared documents.
    void on_shared(std::function<void()> sync) { on_shared_ = std::move(sync); }
    // Re-reads the desired state and the shared documents now (a launch naming a model registered
    // on another node a moment ago need not wait for the next second).
    void refresh() { reread_desired(); }
    std::string leader() const;

    // Requests in flight to other nodes, for least-busy routing.
    void begin_forward(const std::string& node);
    void end_forward(const std::string& node);

private:
    void keep_alive_loop();
    void watch_loop();
    void apply(const EtcdKv& kv, bool deleted);
    int64_t reread();  // the revision read at
    double load_of(const std::string& node, const nlohmann::json& model) const;  // caller holds mu_
    bool suspected(const std::string& node) const;                               // caller holds mu_
    void campaign();   // takes the leader key when it is free; notices losing it
    void reread_desired();
    std::string record_text(const nlohmann::json& self) const;

    ClusterConfig config_;
    std::function<nlohmann::json()> describe_self_;
    EtcdClient etcd_;
    std::string key_;
    int64_t lease_ = 0;
    std::atomic<int64_t> last_renewal_ms_{0};
    std::atomic<int64_t> desired_read_ms_{0};  // when the last complete read of the desired state began
    int64_t started_ = 0;

    mutable std::mutex mu_;
    std::map<std::string, NodeInfo> nodes_;
    std::map<std::string, int> forwards_;
    std::map<std::string, int64_t> suspects_;  // node -> steady ms until which it is skipped
    mutable std::atomic<unsigned> rotation_{0};  // spreads ties among equally busy nodes
    int64_t seen_revision_ = 0;  // newest change applied to nodes_
    std::vector<DesiredModel> desired_;
    std::map<std::string, std::map<std::string, std::string>> shared_;  // folder -> name -> text
    std::function<void()> on_shared_;
    std::string leader_;
    std::atomic<int64_t> leader_revision_{0};  // create revision of our leader key; 0: not leading

    std::atomic<bool> stop_{false};
    std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    std::thread keeper_, watcher_;
};

}  // namespace xinfer
