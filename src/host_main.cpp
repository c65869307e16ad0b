// xinfer-host: one speech (pocketsphinx, whisper.cpp, llama.cpp's audio models, flite, espeak-ng),
// embedding or rerank (libllama) model replica on a private address, started by the xinfer
// supervisor as `xinfer-host host --engine ... --listen ...`. A program of its own so that the
// service process loads none of the engine libraries. (Embedding and rerank replicas run in the
// leaner xinfer-encoder; this program can serve them too.)
#include "cli/commands.h"
#include "host/model_host.h"

int main(int argc, char** argv) {
    return xinfer::cli::host_program_main(argc, argv, "xinfer-host", "one speech, embedding or rerank model replica",
                                          xinfer::run_model_host);
}
