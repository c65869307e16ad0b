// xinfer: one binary, many subcommands. Invoked as `xinference` or `xinference-local` (symlinks)
// it behaves as Xinference's commands of those names, so existing scripts run unchanged.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    std::string prog = args[0].substr(args[0].rfind('/') + 1);
    if (prog == "xinference-local") args.insert(args.begin() + 1, "serve");
    for (auto& a : args)
        if (a == "-ak") a = "--api-key";  // Xinference's two-letter short flag

    CLI::App app{"xinfer: serve chat, embedding, rerank and speech models behind one OpenAI-compatible API", prog};
    app.require_subcommand(1);
    app.set_version_flag("--version", XINFER_VERSION);
    xinfer::cli::add_serve_command(app);
    xinfer::cli::add_model_commands(app);
    xinfer::cli::add_registration_commands(app);
    xinfer::cli::add_host_command(app);

    std::vector<std::string> rev(args.rbegin(), args.rend() - 1);
    try {
        app.parse(rev);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return xinfer::cli::exit_code();
}
