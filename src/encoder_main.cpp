// xinfer-encoder: one embedding or rerank (libllama) model replica on a private address, started
// by the xinfer supervisor as `xinfer-encoder host --engine llama-embedding|llama-rerank ...`. A
// program of its own so that an encoder replica loads none of the speech engines' libraries.
#include "cli/commands.h"
#include "host/encoder_host.h"

int main(int argc, char** argv) {
    return xinfer::cli::host_program_main(argc, argv, "xinfer-encoder", "one embedding or rerank model replica",
                                          xinfer::run_encoder_host);
}
