// xinfer-host: one speech (pocketsphinx, whisper.cpp, llama.cpp's audio models, flite, espeak-ng),
// embedding or rerank (libllama) model replica on a private address, started by the xinfer
// supervisor as `xinfer-host host --engine ... --listen ...`. A program of its own so that the
// service process loads none of the engine libraries.
#include <CLI/CLI.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "host/model_host.h"

int main(int argc, char** argv) {
    CLI::App app{"xinfer-host: one speech, embedding or rerank model replica (started by xinfer)", "xinfer-host"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", XINFER_VERSION);
    xinfer::cli::add_host_command(app, xinfer::run_model_host);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return xinfer::cli::exit_code();
}
