// What a run of n inputs costs an embedding model on libllama, per input, with and without flash
// attention, against running each input alone: the measure behind the model host's run sizes and
// its two contexts (engines/llama_encoder), and behind the limit of embedding throughput on small
// models. llama-server's slots build the same runs with the same kernels, so this is also what
// both engines pay per text, but for one thing: where pooling reads one token a sequence (CLS,
// rerankers), llama-server runs the layers after the last attention on every token (BENCH_ALL_ROWS=1).
//
//   bench_encoder_runs EMBED.gguf [tokens_per_input=25] [threads=1] [iterations=200]
// BENCH_RUN_SIZE=N measures runs of N inputs only, BENCH_FLASH_ONLY=1 only with flash attention
// (to profile one case); BENCH_ALL_ROWS=1 runs the layers after the last attention on every token,
// as llama-server does, instead of on the pooled ones as the model host does.
#include <llama.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engines/mtmd/llama_runtime.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s EMBED.gguf [tokens_per_input=25] [threads=1] [iterations=200]\n", argv[0]);
        return 2;
    }
    const int len = argc > 2 ? std::max(1, std::atoi(argv[2])) : 25;
    const int threads = argc > 3 ? std::max(1, std::atoi(argv[3])) : 1;
    const int iterations = argc > 4 ? std::max(1, std::atoi(argv[4])) : 200;
    std::vector<int> sizes = {1, 2, 3, 4, 5, 6, 8, 12, 16};
    if (const char* v = std::getenv("BENCH_RUN_SIZE")) sizes = {std::clamp(std::atoi(v), 1, 16)};  // one run size, to profile it
    const int most = 16;

    xinfer::init_llama_runtime();  // as the model host: quiet, and ggml's backends loaded (plugins in a CUDA build)
    llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        std::fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    // Two contexts, as the model host keeps on CPU: flash attention as llama.cpp picks it (on, on
    // CPU), and without it (the host's context for runs under one 64-token attention tile).
    auto make_context = [&](bool flash) {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(len * most);  // as the model host: one run, one ubatch
        cp.n_seq_max = most;
        cp.kv_unified = true;
        cp.embeddings = true;
        cp.n_threads = cp.n_threads_batch = threads;
        if (!flash) cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        llama_context* ctx = llama_init_from_model(model, cp);
        // As the model host: the layers after the last attention on the pooled tokens alone
        // (BENCH_ALL_ROWS=1: on every token, as llama-server).
        const char* all_rows = std::getenv("BENCH_ALL_ROWS");
        if (ctx && !(all_rows && std::string(all_rows) == "1")) llama_set_pooled_rows_only(ctx, true);
        return ctx;
    };
    llama_context* contexts[2] = {make_context(true), make_context(false)};
    if (!contexts[0] || !contexts[1]) {
        std::fprintf(stderr, "cannot create a context for %d tokens\n", len * most);
        return 1;
    }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_batch batch = llama_batch_init(len * most, 0, 1);
    std::printf("encoder runs: %s, %d tokens per input, %d thread(s), best of 3 x %d runs; us per input\n", argv[1], len, threads,
                iterations);
    std::printf("%-11s %7s %12s %12s %10s %12s\n", "inputs/run", "tokens", "flash attn", "without", "host runs", "vs alone");
    double alone = 0;
    for (int n : sizes) {
        batch.n_tokens = 0;
        for (int s = 0; s < n; ++s)
            for (int k = 0; k < len; ++k) {
                const int j = batch.n_tokens++;
                batch.token[j] = (1000 + 7 * k + 13 * s) % n_vocab;
                batch.pos[j] = k;
                batch.n_seq_id[j] = 1;
                batch.seq_id[j][0] = s;
                batch.logits[j] = true;
            }
        double per_input[2] = {0, 0};  // 0: not measured (BENCH_FLASH_ONLY)
        for (int c = 0; c < (std::getenv("BENCH_FLASH_ONLY") ? 1 : 2); ++c) {
            double best = 1e18;
            for (int round = 0; round < 3; ++round) {
                const auto t0 = std::chrono::steady_clock::now();
                for (int i = 0; i < iterations; ++i) {
                    llama_memory_clear(llama_get_memory(contexts[c]), true);
                    if (llama_decode(contexts[c], batch) != 0) {
                        std::fprintf(stderr, "llama_decode failed at %d inputs\n", n);
                        return 1;
                    }
                }
                best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iterations);
            }
            per_input[c] = best / n;
        }
        // The model host's choice (engines/llama_encoder): without flash attention below one tile.
        const bool short_run = batch.n_tokens < 64;
        const double host = per_input[short_run ? 1 : 0];
        if (n == 1) alone = host;
        std::printf("%-11d %7d %12.1f %12.1f %10s %11.3fx\n", n, batch.n_tokens, per_input[0], per_input[1],
                    short_run ? "without" : "flash", alone > 0 ? alone / host : 0.0);  // 0: runs of one not measured
    }
    llama_batch_free(batch);
    for (llama_context* c : contexts) llama_free(c);
    llama_model_free(model);
    return 0;
}
