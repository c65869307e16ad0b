// `xinfer-host host` / `xinfer-encoder host`: run one model replica (started by the supervisor, not by hand).
#include "cli/api_client.h"
#include "cli/commands.h"
#include "host/model_host.h"

namespace xinfer::cli {

void add_host_command(CLI::App& app, const char* about, int (*run)(const HostOptions&)) {
    auto o = std::make_shared<HostOptions>();
    auto* host = app.add_subcommand("host", std::string("Serve ") + about + " on a private address (used by the supervisor)");
    host->add_option("--engine", o->engine, "pocketsphinx, whisper, mtmd (speech recognition), mtmd-tts (voices), flite, espeak, "
                                              "llama-embedding or llama-rerank")->required();
    host->add_option("--listen", o->listen, "unix socket path or 127.0.0.1:PORT")->required();
    host->add_option("--model-path", o->model_path, "engine model folder or file");
    host->add_option("--projector", o->projector, "mtmd, mtmd-tts: the projector GGUF (mmproj) beside the model");
    host->add_option("--concurrency", o->concurrency, "requests decoded at once")->capture_default_str();
    host->add_option("--threads", o->threads, "compute threads per request (0 = all cores)")->capture_default_str();
    host->add_option("--spare-threads", o->spare_threads,
                     "llama-embedding, llama-rerank: a lane of this many threads (0 or 1) on cycles no other thread wants")
        ->capture_default_str()->check(CLI::Range(0, 1));
    host->add_option("--context", o->context, "llama-embedding, llama-rerank: longest input in tokens (0 = the model's)")
        ->capture_default_str();
    host->add_flag("--gpu", o->use_gpu, "whisper, mtmd, mtmd-tts, llama-embedding, llama-rerank: compute on the GPU (CUDA build; CPU otherwise)");
    host->callback([o, run] { exit_code() = run(*o); });
}

int host_program_main(int argc, char** argv, const char* name, const char* about, int (*run)(const HostOptions&)) {
    CLI::App app{std::string(name) + ": " + about + " (started by xinfer)", name};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", XINFER_VERSION);
    add_host_command(app, about, run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return exit_code();
}

}  // namespace xinfer::cli
