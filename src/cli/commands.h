// The `xinfer` subcommands. The server command runs the service; every other command is a
// client of the REST API (never of internals), so it works the same against a remote service.
#pragma once

#include <CLI/CLI.hpp>

namespace xinfer {
struct HostOptions;
}

namespace xinfer::cli {

void add_serve_command(CLI::App& app);          // serve (local), supervisor, worker
void add_model_commands(CLI::App& app);         // launch, list, terminate
void add_registration_commands(CLI::App& app);  // register, unregister, registrations
void add_chat_commands(CLI::App& app);          // chat, generate (interactive)
void add_cache_commands(CLI::App& app);         // cached, remove-cache
void add_cluster_commands(CLI::App& app);       // engine, login, vllm-models, stop-cluster, cal-model-mem
// host: one model replica (`about` says which kinds), served by `run` (the xinfer-host and
// xinfer-encoder programs).
void add_host_command(CLI::App& app, const char* about, int (*run)(const HostOptions&));
// The whole main() of a host program (`name host --engine ...`): its command line, served by `run`.
int host_program_main(int argc, char** argv, const char* name, const char* about, int (*run)(const HostOptions&));
void add_convert_command(CLI::App& app);        // convert: a Hugging Face folder to GGUF (local)
void add_download_command(CLI::App& app);       // download: a catalog model into the cache (local)
void add_bundle_commands(CLI::App& app);        // bundle create|install: offline archives (local)
void add_key_commands(CLI::App& app);           // keys create|list|revoke: API keys (admins)

}  // namespace xinfer::cli
