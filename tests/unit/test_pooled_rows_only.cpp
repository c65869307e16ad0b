// libllama as xinfer patches it (scripts/llama-patches/pooled-rows-only.patch): a context asked
// for llama_set_pooled_rows_only runs the layers after the last attention only on the token each
// sequence is pooled from (CLS, last, a reranker's score), where llama.cpp runs them on every
// token and drops the rest afterwards. Its pooled answers must be those of an unpruned context,
// sequence by sequence: a row kept for the wrong sequence, or in the wrong order, shows here as a
// vector or score that moved. Runs with sequences given in scrambled id order, their tokens
// interleaved, some of one token (where no row can be dropped), on both attention kernels.
#include <gtest/gtest.h>
#include <llama.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engines/mtmd/llama_runtime.h"
#include "result_distance.h"

namespace {

const std::string kModels = XINFER_TEST_MODELS;

using xinfer::test::result_distance;

// One run: sequence s has lengths[s] random tokens and the id ids[s]; with `interleave`, the
// sequences' tokens take turns in the batch instead of following each other. One pooled output
// per sequence, in the order of `lengths`.
std::vector<std::vector<float>> run(llama_context* ctx, const std::vector<int>& lengths, const std::vector<int>& ids,
                                    bool interleave, unsigned seed) {
    const llama_model* model = llama_get_model(ctx);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    int total = 0;
    for (int n : lengths) total += n;
    llama_batch batch = llama_batch_init(total, 0, 1);
    std::mt19937 rng(seed);
    std::vector<std::vector<int32_t>> tokens(lengths.size());
    for (size_t s = 0; s < lengths.size(); ++s)
        for (int k = 0; k < lengths[s]; ++k) tokens[s].push_back(100 + static_cast<int>(rng() % static_cast<unsigned>(n_vocab - 200)));
    auto add = [&](size_t s, int k) {
        const int j = batch.n_tokens++;
        batch.token[j] = tokens[s][k];
        batch.pos[j] = k;
        batch.n_seq_id[j] = 1;
        batch.seq_id[j][0] = static_cast<llama_seq_id>(ids[s]);
        batch.logits[j] = true;  // pooling reads every token
    };
    if (interleave) {
        const int longest = *std::max_element(lengths.begin(), lengths.end());
        for (int k = 0; k < longest; ++k)
            for (size_t s = 0; s < lengths.size(); ++s)
                if (k < lengths[s]) add(s, k);
    } else {
        for (size_t s = 0; s < lengths.size(); ++s)
            for (int k = 0; k < lengths[s]; ++k) add(s, k);
    }
    llama_memory_clear(llama_get_memory(ctx), true);
    std::vector<std::vector<float>> out;
    if (llama_decode(ctx, batch) == 0) {
        const int width = llama_pooling_type(ctx) == LLAMA_POOLING_TYPE_RANK ? 1 : llama_model_n_embd_out(model);
        for (size_t s = 0; s < lengths.size(); ++s) {
            const float* v = llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(ids[s]));
            out.emplace_back(v, v + (v ? width : 0));
        }
    }
    llama_batch_free(batch);
    return out;
}

// `pooling`: the model's own (UNSPECIFIED) or another to ask for.
void check_pooled_rows_only(const std::string& file, enum llama_pooling_type pooling) {
    xinfer::init_llama_runtime();
    llama_model* model = llama_model_load_from_file((kModels + "/" + file).c_str(), llama_model_default_params());
    ASSERT_NE(model, nullptr) << file;
    for (bool flash : {true, false}) {
        auto make = [&](bool rows_only) {
            llama_context_params cp = llama_context_default_params();
            cp.n_ctx = cp.n_batch = cp.n_ubatch = 512;
            cp.n_seq_max = 16;
            cp.kv_unified = true;
            cp.embeddings = true;
            cp.pooling_type = pooling;
            cp.n_threads = cp.n_threads_batch = 1;
            cp.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
            llama_context* ctx = llama_init_from_model(model, cp);
            if (ctx) llama_set_pooled_rows_only(ctx, rows_only);
            return ctx;
        };
        llama_context* pruned = make(true);
        llama_context* whole = make(false);
        ASSERT_NE(pruned, nullptr);
        ASSERT_NE(whole, nullptr);
        struct Run {
            std::vector<int> lengths, ids;
        };
        std::vector<Run> runs = {{{33}, {0}},                           // alone
                                 {{33, 33, 33, 33}, {0, 1, 2, 3}},      // the usual run
                                 {{5, 40, 1, 17}, {3, 0, 2, 1}},        // ids out of order, one single token
                                 {{1, 1, 1}, {2, 0, 1}},                // nothing to drop: every token pooled
                                 {{70, 2, 9, 64, 3}, {4, 1, 3, 0, 2}}};  // past one attention tile
        std::mt19937 rng(11);
        for (int i = 0; i < 12; ++i) {
            Run r;
            r.lengths.resize(1 + rng() % 12);
            for (int& n : r.lengths) n = 1 + static_cast<int>(rng() % 40u);
            r.ids.resize(r.lengths.size());
            for (size_t s = 0; s < r.ids.size(); ++s) r.ids[s] = static_cast<int>(s);
            std::shuffle(r.ids.begin(), r.ids.end(), rng);
            runs.push_back(r);
        }
        for (size_t r = 0; r < runs.size(); ++r)
            for (bool interleave : {false, true}) {
                const auto a = run(pruned, runs[r].lengths, runs[r].ids, interleave, 500 + r);
                const auto b = run(whole, runs[r].lengths, runs[r].ids, interleave, 500 + r);
                ASSERT_EQ(a.size(), runs[r].lengths.size()) << file << ", run " << r;
                ASSERT_EQ(b.size(), runs[r].lengths.size()) << file << ", run " << r;
                for (size_t s = 0; s < a.size(); ++s) {
                    ASSERT_FALSE(a[s].empty());
                    ASSERT_EQ(a[s].size(), b[s].size());
                    // The same sums over fewer rows: matrix kernels may block them differently.
                    EXPECT_LT(result_distance(a[s], b[s]), 1e-5)
                        << file << (flash ? ", flash attention" : ", plain attention") << ", run " << r
                        << (interleave ? " (interleaved)" : "") << ", sequence " << s << " (id " << runs[r].ids[s] << ", "
                        << runs[r].lengths[s] << " tokens)";
                }
            }
        llama_free(pruned);
        llama_free(whole);
    }
    llama_model_free(model);
}

}  // namespace

TEST(PooledRowsOnly, RerankScoresAreThoseOfEveryRow) { check_pooled_rows_only("tiny-rerank.gguf", LLAMA_POOLING_TYPE_UNSPECIFIED); }

TEST(PooledRowsOnly, ClsVectorsAreThoseOfEveryRow) { check_pooled_rows_only("tiny-embed.gguf", LLAMA_POOLING_TYPE_CLS); }

// A decoder-based embedder pools its last token (Qwen3-Embedding's way).
TEST(PooledRowsOnly, LastTokenVectorsAreThoseOfEveryRow) {
    check_pooled_rows_only("tiny-embed-decoder.gguf", LLAMA_POOLING_TYPE_UNSPECIFIED);
    check_pooled_rows_only("tiny-embed.gguf", LLAMA_POOLING_TYPE_LAST);
}

// Mean pooling reads every row: the setting changes nothing there.
TEST(PooledRowsOnly, MeanPoolingIsUntouched) { check_pooled_rows_only("tiny-embed.gguf", LLAMA_POOLING_TYPE_MEAN); }
