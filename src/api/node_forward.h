// Relaying a request to another node of the cluster: when this node learns that another one
// serves what a request names (RoutedElsewhere), the whole request goes there as it came
// (method, path, query, body, the caller's credentials) and the answer comes back as it is sent,
// streams chunk by chunk. A relayed request carries the sender's name and the cluster token; the
// receiving node serves it itself or refuses it, never relays it again.
#pragma once

#include <httplib.h>

#include <string>

#include "common/errors.h"

namespace xinfer {

class ClusterNode;

struct NodeForwarding {
    std::string self;              // this node's name
    std::string token;             // the cluster token; relayed requests must carry it
    ClusterNode* cluster = nullptr;  // counts requests in flight to each node
};

void set_node_forwarding(NodeForwarding forwarding);
const NodeForwarding& node_forwarding();

// Whether the request being served on this thread was relayed by another node.
bool request_came_from_node();
// Notes (for request_came_from_node) whether `req` was relayed; called as each request begins.
void note_request_origin(const httplib::Request& req);
// Whether `req` says it was relayed by another node but lacks this cluster's token.
bool request_from_node_refused(const httplib::Request& req);

// forward_to_node could not connect to the node: nothing was sent, the request may be tried again
// elsewhere (the node is left out of routing for a while).
struct NodeUnreachable {
    std::string node;
};

void forward_to_node(const httplib::Request& req, httplib::Response& res, const RoutedElsewhere& to);

}  // namespace xinfer
