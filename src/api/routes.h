// Route groups of the REST API; each file adds one group to the server.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "auth/authenticator.h"
#include "registry/registry.h"
#include "supervisor/supervisor.h"

namespace xinfer {

class ClusterNode;

// address: what /v1/address and /v1/supervisor report; request_shutdown: DELETE /v1/clusters.
// `address` is asked at request time: with port 0 it is known only once the port is bound.
void add_status_routes(httplib::Server& server, std::function<std::string()> address, std::function<void()> request_shutdown,
                       bool auth_enabled);
// POST /token (Xinference's login: username and password for a bearer token).
void add_auth_routes(httplib::Server& server, std::shared_ptr<const Authenticator> auth);
// /v1/admin/keys: create, list and revoke API keys at run time.
// With a cluster, created keys and revocations reach every node.
void add_key_routes(httplib::Server& server, std::shared_ptr<Authenticator> auth, ClusterNode* cluster);
// With a cluster: lists show every node's models, and a launch naming another node (worker_ip)
// goes there.
void add_model_routes(httplib::Server& server, Supervisor& supervisor, ClusterNode* cluster);
void add_replica_routes(httplib::Server& server, Supervisor& supervisor, ClusterNode* cluster);
void add_engine_routes(httplib::Server& server, Registry& registry);
void add_cache_routes(httplib::Server& server, Supervisor& supervisor);
void add_autostart_routes(httplib::Server& server, Supervisor& supervisor);
// With a cluster, registrations go to etcd too and every node registers them.
void add_registration_routes(httplib::Server& server, Registry& registry, ClusterNode* cluster);
void add_openai_routes(httplib::Server& server, Supervisor& supervisor);
void add_embedding_routes(httplib::Server& server, Supervisor& supervisor);
void add_audio_routes(httplib::Server& server, Supervisor& supervisor);
// /v1/cluster/*, /v1/workers (every node with a cluster), /metrics.
void add_cluster_routes(httplib::Server& server, Supervisor& supervisor, ClusterNode* cluster);
void add_ui_routes(httplib::Server& server);  // the web UI under /ui/

}  // namespace xinfer
