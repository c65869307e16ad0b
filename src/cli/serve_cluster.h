// Cluster mode of `xinfer serve --etcd URLS`: joins this node to the cluster (its record in etcd,
// the watch of the others) and wires the supervisor and HTTP layer to it, so requests for models
// other nodes run are relayed there.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_agent.h"
#include "cluster/cluster_node.h"
#include "supervisor/supervisor.h"

namespace xinfer::cli {

struct ClusterArgs {
    std::vector<std::string> etcd;  // empty: this node runs alone
    std::string node_name;          // default: the host name
    std::string advertise;          // default: http://HOST:PORT when HOST is a real address
    std::string token;
    int lease_ttl_s = 10;
};

// This node's part in the cluster while it serves.
struct ClusterSession {
    std::unique_ptr<ClusterNode> node;
    std::unique_ptr<ClusterAgent> agent;
    // Leaves: the agent stops, the record goes (other nodes stop routing here at once).
    void leave();
    ~ClusterSession() { leave(); }
};

// Joins the cluster, installs the routing hooks and starts the agent; null when args.etcd is
// empty. Throws std::runtime_error with the reason when the node cannot join.
std::unique_ptr<ClusterSession> join_cluster(const ClusterArgs& args, Supervisor& supervisor, Registry& registry,
                                             std::shared_ptr<Authenticator> auth, const std::string& host, int port);

}  // namespace xinfer::cli
