// The models of a whole cluster as the API lists them: this node's, then every other node's as
// each one publishes them (src/cluster/cluster_node.h), each marked with the node that runs it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>

#include "supervisor/supervisor.h"

namespace xinfer {

class ClusterNode;

// What this node publishes of its models: the list entries without the counters that change
// with every request (so the record is rewritten only when a model comes, goes or changes state).
nlohmann::json published_models(const Supervisor& sup);

// GET /v1/models's body: {"object": "list", "data": [...]}, each entry with "node" and
// "worker_address" when there is a cluster.
nlohmann::json cluster_model_list(const Supervisor& sup, const ClusterNode* cluster);

// POST /v1/models in a cluster, before the launch: relays it (RoutedElsewhere) when it names
// another node (Xinference's worker_ip: a node name, address or host; removed from `body` when it
// names this one), 400 for an unknown node, 409 for a uid the cluster already has elsewhere.
void route_launch(const ClusterNode* cluster, nlohmann::json& body);
// Spreads a launch's replicas over the live nodes: the first runs here (so the launch is checked
// and placed here at once), the others go one by one to the other nodes with the most free
// memory, then round again. Sets `launch.replica` to this node's share; returns every share.
std::map<std::string, int> plan_launch(const ClusterNode* cluster, LaunchRequest& launch);
// After a launch on this node: the cluster's desired state gets it with its shares (the other
// nodes start theirs). When etcd cannot take it, the launch is undone and the call answers 503.
void record_launch(ClusterNode* cluster, Supervisor& sup, const std::string& uid, const LaunchRequest& launch,
                   int replicas, const std::map<std::string, int>& shares);
// Replicas of `uid` the cluster's desired state gives to nodes other than this one (0 alone).
int replicas_elsewhere(const ClusterNode* cluster, const std::string& uid);
// POST /v1/models/{uid}/replicas {"replica": N} in a cluster: N replicas over all nodes. More are
// added here; fewer are taken from the nodes with the most, other nodes first (a node left with
// none stops its copy). 400 below 1, 503 when etcd cannot take it.
void scale_in_cluster(ClusterNode& cluster, Supervisor& sup, const std::string& uid, int count);
// After this node added or removed replicas of `uid`: its share in the desired state follows, so
// the cluster keeps the count (and does not undo it). 503 when etcd cannot take it.
void record_share(ClusterNode* cluster, const Supervisor& sup, const std::string& uid);
// DELETE /v1/models/{uid}: removes the model from the desired state (503 when etcd cannot);
// whether it was there. False without a cluster.
bool forget_launch(ClusterNode* cluster, const std::string& uid);

}  // namespace xinfer
