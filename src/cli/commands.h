// The `xinfer` subcommands. The server command runs the service; every other command is a
// client of the REST API (never of internals), so it works the same against a remote service.
#pragma once

#include <CLI/CLI.hpp>

namespace xinfer::cli {

void add_serve_command(CLI::App& app);
void add_model_commands(CLI::App& app);         // launch, list, terminate
void add_registration_commands(CLI::App& app);  // register, unregister, registrations
void add_host_command(CLI::App& app);           // host: one speech model replica

}  // namespace xinfer::cli
