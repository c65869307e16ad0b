// xinfer: one binary, many subcommands. Invoked as `xinference`, `xinference-local`,
// `xinference-supervisor` or `xinference-worker` (symlinks) it behaves as Xinference's commands of
// those names, so existing scripts run unchanged.
#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace {

// Xinference's click options have two-letter short forms (`-ak`, `-en`, `-mp`) that CLI11 reads
// as bundles of one-letter flags: spell them long before parsing. `-mp` means --model-path to
// `launch` and --metrics-exporter-port to the servers.
void expand_two_letter_flags(std::vector<std::string>& args) {
    static const std::map<std::string, std::string> everywhere = {
        {"-ak", "--api-key"}, {"-en", "--model-engine"}, {"-lm", "--lora-modules"}, {"-ld", "--image-lora-load-kwargs"},
        {"-fd", "--image-lora-fuse-kwargs"}, {"-qc", "--quantization-config"}, {"-vp", "--virtual-env-package"},
        {"-ev", "--env"}, {"-MH", "--metrics-exporter-host"}};
    std::string command;
    for (size_t i = 1; i < args.size(); ++i) {
        if (command.empty() && !args[i].empty() && args[i][0] != '-') command = args[i];
        if (auto it = everywhere.find(args[i]); it != everywhere.end()) args[i] = it->second;
        else if (args[i] == "-mp") args[i] = command == "launch" ? "--model-path" : "--metrics-exporter-port";
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    std::string prog = args[0].substr(args[0].rfind('/') + 1);
    if (prog == "xinference-local") args.insert(args.begin() + 1, "serve");
    if (prog == "xinference-supervisor") args.insert(args.begin() + 1, "supervisor");
    if (prog == "xinference-worker") args.insert(args.begin() + 1, "worker");
    // `xinference` alone (or with only server flags) starts a local service, as Xinference's did.
    if (prog == "xinference" && (args.size() == 1 || (args[1].size() > 1 && args[1][0] == '-' && args[1] != "--help" &&
                                                      args[1] != "-h" && args[1] != "--version" && args[1] != "-v")))
        args.insert(args.begin() + 1, "serve");
    expand_two_letter_flags(args);

    CLI::App app{"xinfer: serve chat, embedding, rerank and speech models behind one OpenAI-compatible API", prog};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", XINFER_VERSION);
    xinfer::cli::add_serve_command(app);
    xinfer::cli::add_model_commands(app);
    xinfer::cli::add_registration_commands(app);
    xinfer::cli::add_chat_commands(app);
    xinfer::cli::add_cache_commands(app);
    xinfer::cli::add_cluster_commands(app);
    xinfer::cli::add_convert_command(app);
    xinfer::cli::add_download_command(app);
    xinfer::cli::add_bundle_commands(app);
    xinfer::cli::add_key_commands(app);

    std::vector<std::string> rev(args.rbegin(), args.rend() - 1);
    try {
        app.parse(rev);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return xinfer::cli::exit_code();
}
