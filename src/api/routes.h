// Route groups of the REST API; each file adds one group to the server.
#pragma once

#include <httplib.h>

#include "registry/registry.h"
#include "supervisor/supervisor.h"

namespace xinfer {

void add_status_routes(httplib::Server& server, Supervisor& supervisor);
void add_model_routes(httplib::Server& server, Supervisor& supervisor);
void add_registration_routes(httplib::Server& server, Registry& registry);
void add_openai_routes(httplib::Server& server, Supervisor& supervisor);
void add_embedding_routes(httplib::Server& server, Supervisor& supervisor);
void add_audio_routes(httplib::Server& server, Supervisor& supervisor);
void add_cluster_routes(httplib::Server& server, Supervisor& supervisor);

}  // namespace xinfer
