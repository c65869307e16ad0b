// What a node does about the cluster's desired state, once a second:
// - registers the cluster's custom models in its own registry (and drops the ones unregistered),
//   and takes the API keys made or revoked on other nodes;
// - runs the models assigned to it that it does not run yet, and stops the ones that were
//   removed or given to another node while it was away;
// - reports a model that failed to start on it, so the cluster shows why;
// - when cut off from etcd longer than the lease TTL, stops its engines: the other nodes have
//   taken it as gone and may already run its models (no duplicates when it comes back);
// - when it leads, assigns every model whose node is gone (or that no node could take yet) to
//   the live node with the most free memory that fits it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "cluster/cluster_node.h"
#include "auth/authenticator.h"
#include "registry/registry.h"
#include "supervisor/supervisor.h"

namespace xinfer {

class ClusterAgent {
public:
    // auth may be null (no authentication).
    ClusterAgent(ClusterNode& cluster, Supervisor& supervisor, Registry& registry, std::shared_ptr<Authenticator> auth);
    ~ClusterAgent();
    void start();
    void stop();

private:
    void loop();
    void reconcile();
    void fence();
    void place();
    void sync_shared();  // registrations and keys
    void sync_registrations();

    ClusterNode& cluster_;
    Supervisor& sup_;
    Registry& registry_;
    std::shared_ptr<Authenticator> auth_;
    std::mutex sync_mu_;
    std::set<std::string> synced_registrations_;  // "type/name" this node took from the cluster
    std::set<std::string> assigned_here_;  // uids seen assigned to this node
    bool fenced_ = false;

    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread thread_;
};

// Memory a model needs on a node, as the leader estimates it from the files it can see: the
// GGUF's size plus a tenth and 64 MiB (0 when the file is not visible from here).
uint64_t estimated_model_mb(const nlohmann::json& launch_request);

}  // namespace xinfer
