// xinfer-encoder: one embedding or rerank (libllama) model replica on a private address, started
// by the xinfer supervisor as `xinfer-encoder host --engine llama-embedding|llama-rerank ...`. A
// program of its own so that an encoder replica loads none of the speech engines' libraries.
#include <CLI/CLI.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "host/encoder_host.h"

int main(int argc, char** argv) {
    CLI::App app{"xinfer-encoder: one embedding or rerank model replica (started by xinfer)", "xinfer-encoder"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", XINFER_VERSION);
    xinfer::cli::add_host_command(app, xinfer::run_encoder_host);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return xinfer::cli::exit_code();
}
