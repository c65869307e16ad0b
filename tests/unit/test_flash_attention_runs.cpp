// ggml's tiled flash attention on CPU as xinfer patches it (scripts/llama-patches/
// flash-attn-tiles-cut-to-attended-columns.patch): a run of several sequences in one ubatch must
// give each sequence what plain attention (no flash attention, another kernel altogether) gives
// it. The patch cuts each 64x64 tile to the columns its rows attend to; a column cut wrongly
// shows here as a vector or score that moved. Sequence lengths around the tile size (63, 64, 65,
// 128...) and random ones, on one thread and on two (two threads split the rows differently).
#include <gtest/gtest.h>
#include <llama.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engines/mtmd/llama_runtime.h"
#include "result_distance.h"

namespace {

const std::string kModels = XINFER_TEST_MODELS;

enum class Output { pooled, last_token_logits };

struct Contexts {
    llama_model* model = nullptr;
    llama_context* flash = nullptr;
    llama_context* plain = nullptr;
    ~Contexts() {
        if (flash) llama_free(flash);
        if (plain) llama_free(plain);
        if (model) llama_model_free(model);
    }
};

using xinfer::test::result_distance;

// Runs `lengths` (one sequence each, random tokens) through a context; one output per sequence.
std::vector<std::vector<float>> run(llama_context* ctx, Output kind, const std::vector<int>& lengths, unsigned seed) {
    const llama_model* model = llama_get_model(ctx);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    int total = 0;
    for (int n : lengths) total += n;
    llama_batch batch = llama_batch_init(total, 0, 1);
    std::mt19937 rng(seed);
    for (size_t s = 0; s < lengths.size(); ++s)
        for (int k = 0; k < lengths[s]; ++k) {
            const int j = batch.n_tokens++;
            batch.token[j] = 100 + static_cast<int>(rng() % static_cast<unsigned>(n_vocab - 200));
            batch.pos[j] = k;
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = static_cast<llama_seq_id>(s);
            batch.logits[j] = kind == Output::pooled || k == lengths[s] - 1;
        }
    llama_memory_clear(llama_get_memory(ctx), true);
    std::vector<std::vector<float>> out;
    if (llama_decode(ctx, batch) == 0) {
        const bool rank = llama_pooling_type(ctx) == LLAMA_POOLING_TYPE_RANK;
        const int width = kind == Output::last_token_logits ? n_vocab : (rank ? 1 : llama_model_n_embd(model));
        int row = 0;
        for (size_t s = 0; s < lengths.size(); ++s) {
            row += lengths[s];
            const float* v = kind == Output::pooled ? llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(s))
                                                    : llama_get_logits_ith(ctx, row - 1);
            out.emplace_back(v, v + (v ? width : 0));
        }
    }
    llama_batch_free(batch);
    return out;
}

void check_runs_match(const std::string& file, Output kind, int threads) {
    xinfer::init_llama_runtime();
    Contexts c;
    c.model = llama_model_load_from_file((kModels + "/" + file).c_str(), llama_model_default_params());
    ASSERT_NE(c.model, nullptr) << file;
    auto make = [&](bool flash) {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = cp.n_batch = cp.n_ubatch = 1024;
        cp.n_seq_max = 16;
        cp.kv_unified = true;
        cp.embeddings = kind == Output::pooled;
        cp.n_threads = cp.n_threads_batch = threads;
        cp.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
        return llama_init_from_model(c.model, cp);
    };
    c.flash = make(true);
    c.plain = make(false);
    ASSERT_NE(c.flash, nullptr);
    ASSERT_NE(c.plain, nullptr);

    // Runs at the tile's edges, then random ones (seeded: the same runs every time).
    std::vector<std::vector<int>> runs = {{33, 33, 33, 33}, {63, 1, 64}, {64, 64}, {65, 63, 2}, {128, 1}, {129, 5, 60},
                                          {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 70}, {200, 7, 7}};
    std::mt19937 rng(7);
    for (int i = 0; i < 40; ++i) {
        std::vector<int> lengths(1 + rng() % 16);
        for (int& n : lengths) n = 1 + static_cast<int>(rng() % (i % 2 ? 40u : 120u));
        int total = 0;
        for (int n : lengths) total += n;
        if (total <= 1024) runs.push_back(lengths);
    }
    double worst = 0;
    for (size_t r = 0; r < runs.size(); ++r) {
        const auto flash = run(c.flash, kind, runs[r], 1000 + r);
        const auto plain = run(c.plain, kind, runs[r], 1000 + r);
        ASSERT_EQ(flash.size(), runs[r].size()) << "run " << r;
        ASSERT_EQ(plain.size(), runs[r].size()) << "run " << r;
        for (size_t s = 0; s < runs[r].size(); ++s) {
            ASSERT_FALSE(flash[s].empty());
            const double d = result_distance(flash[s], plain[s]);
            worst = std::max(worst, d);
            // Flash attention keeps K and V in F16: ~1e-5 apart at most on these models.
            EXPECT_LT(d, 1e-4) << file << ", run " << r << " (" << runs[r].size() << " sequences), sequence " << s
                               << " of " << runs[r][s] << " tokens";
        }
    }
    ::testing::Test::RecordProperty("worst_distance", std::to_string(worst));
}

}  // namespace

TEST(FlashAttentionRuns, EmbeddingVectorsMatchPlainAttention) { check_runs_match("tiny-embed.gguf", Output::pooled, 1); }

TEST(FlashAttentionRuns, RerankScoresMatchPlainAttention) { check_runs_match("tiny-rerank.gguf", Output::pooled, 1); }

TEST(FlashAttentionRuns, OnTwoThreadsToo) { check_runs_match("tiny-rerank.gguf", Output::pooled, 2); }

// Causal masks: a decoder-based embedder and a chat model's prompts of parallel slots.
TEST(FlashAttentionRuns, CausalSequencesMatchPlainAttention) {
    check_runs_match("tiny-embed-decoder.gguf", Output::pooled, 1);
    check_runs_match("tiny-chat.gguf", Output::last_token_logits, 2);
}
