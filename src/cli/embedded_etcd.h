// `xinference-supervisor` without --etcd: the cluster's state needs an etcd, so the supervisor
// starts a one-member etcd of its own (the Debian etcd-server program, as a child process with
// its data in XINFER_HOME/etcd) and workers learn its address from GET /v1/cluster/etcd. One
// member is one point of failure, as Xinference's supervisor is; for a cluster that survives
// losing a machine, run a 3-member etcd and pass --etcd to every node.
#pragma once

#include <string>

namespace xinfer::cli {

// Starts etcd listening on host:client_port (peer traffic on loopback) and waits until it
// answers; returns its client URL as other machines reach it (advertise_host). Throws
// std::runtime_error when etcd is not installed or does not come up.
std::string start_embedded_etcd(const std::string& host, const std::string& advertise_host, int client_port);

}  // namespace xinfer::cli
