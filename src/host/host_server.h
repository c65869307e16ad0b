// What every model host process does around its engine: answers /health, stops on SIGTERM, and
// serves on the unix socket (or loopback port) the supervisor gave it. The engine-specific part
// comes as a function that loads the engine and returns what adds its routes.
#pragma once

#include <functional>

#include "host/model_host.h"

namespace httplib {
class Server;
}

namespace xinfer {

// Adds the engine's routes; it owns the loaded engine, which lives as long as the server.
using HostRoutes = std::function<void(httplib::Server&)>;

// Loads the engine with `load` (an exception is logged and gives exit code 1), then serves until
// SIGTERM; returns the process exit code.
int serve_model_host(const HostOptions& options, const std::function<HostRoutes()>& load);

}  // namespace xinfer
