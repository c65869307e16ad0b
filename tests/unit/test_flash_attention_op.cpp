// ggml's tiled flash attention on CPU as xinfer patches it (scripts/llama-patches/
// flash-attn-vector-loops.patch and vec-max-simd.patch): each tile's mask rows and K rows are
// now converted from F16 a row at a time and its scores' maxima taken 16 or 8 at a time. The
// model-level tests (test_flash_attention_runs.cpp) compare whole models with and without flash
// attention, but random-weight encoders attend almost evenly, so a wrong K value hardly moves
// their vectors. Here the op itself is checked against softmax attention computed in double,
// on scores spread enough that every K value and every mask value counts: several sequences in
// one batch (a block mask), grouped-query heads, head sizes 16 and 64, ALiBi slopes, and a
// score far above the rest at every column (a missed maximum overflows to inf or NaN).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engines/mtmd/llama_runtime.h"
#include "ggml_cpu_graph.h"

namespace {

struct Case {
    int64_t head_size;             // DK = DV
    int64_t n_head, n_head_kv;     // query heads, K/V heads (grouped-query when fewer)
    std::vector<int64_t> lengths;  // sequences in the batch: each query sees its own sequence
    float scale;
    float max_bias;    // ALiBi when > 0: the mask, times each head's slope, is added to scores
    bool high_scores;  // each query's one high score (+200 in the mask) at a column of its own
};

struct Inputs {
    int64_t n;                   // tokens (queries = keys)
    std::vector<float> q;        // [DK, n, n_head]
    std::vector<ggml_fp16_t> k;  // [DK, n, n_head_kv]
    std::vector<ggml_fp16_t> v;  // [DV, n, n_head_kv]
    std::vector<ggml_fp16_t> mask;  // [n keys, n queries]
};

Inputs make_inputs(const Case& c, uint32_t seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    Inputs in;
    in.n = 0;
    for (int64_t len : c.lengths) in.n += len;
    const int64_t d = c.head_size, n = in.n;
    in.q.resize(d * n * c.n_head);
    in.k.resize(d * n * c.n_head_kv);
    in.v.resize(d * n * c.n_head_kv);
    for (float& x : in.q) x = value(random);
    for (auto& x : in.k) x = ggml_fp32_to_fp16(value(random));
    for (auto& x : in.v) x = ggml_fp32_to_fp16(value(random));
    in.mask.assign(n * n, ggml_fp32_to_fp16(-INFINITY));
    int64_t start = 0;
    for (int64_t len : c.lengths) {
        for (int64_t i = start; i < start + len; ++i)
            for (int64_t j = start; j < start + len; ++j) {
                // ALiBi-style distances, or 0; the high score at a column that moves with the row
                float m = c.max_bias > 0 ? -0.25f * static_cast<float>(std::abs(i - j)) : 0.0f;
                if (c.high_scores && j == start + (i * 7 + 3) % len) m += 200.0f;
                in.mask[i * n + j] = ggml_fp32_to_fp16(m);
            }
        start += len;
    }
    return in;
}

// Output [DV, n_head, n] from ggml_flash_attn_ext on the CPU backend.
std::vector<float> flash_on_cpu(const Case& c, const Inputs& in) {
    const int64_t d = c.head_size, n = in.n;
    ggml_init_params params{ggml_tensor_overhead() * 8 + ggml_graph_overhead(), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    ggml_tensor* q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, d, n, c.n_head);
    ggml_tensor* k = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, d, n, c.n_head_kv);
    ggml_tensor* v = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, d, n, c.n_head_kv);
    ggml_tensor* mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, n, n);
    ggml_tensor* out = ggml_flash_attn_ext(ctx, q, k, v, mask, c.scale, c.max_bias, 0.0f);
    std::vector<float> got(d * c.n_head * n);
    xinfer::test::compute_on_cpu(
        ctx, out,
        [&] {
            ggml_backend_tensor_set(q, in.q.data(), 0, in.q.size() * sizeof(float));
            ggml_backend_tensor_set(k, in.k.data(), 0, in.k.size() * sizeof(ggml_fp16_t));
            ggml_backend_tensor_set(v, in.v.data(), 0, in.v.size() * sizeof(ggml_fp16_t));
            ggml_backend_tensor_set(mask, in.mask.data(), 0, in.mask.size() * sizeof(ggml_fp16_t));
        },
        [&] { ggml_backend_tensor_get(out, got.data(), 0, got.size() * sizeof(float)); });
    ggml_free(ctx);
    return got;
}

// ALiBi's slope of head h, as ggml defines it.
double slope(const Case& c, int64_t h) {
    if (c.max_bias <= 0) return 1;
    const int64_t n_log2 = int64_t{1} << static_cast<int64_t>(std::floor(std::log2(static_cast<double>(c.n_head))));
    const double m0 = std::pow(2.0, -c.max_bias / n_log2), m1 = std::pow(2.0, -(c.max_bias / 2.0) / n_log2);
    return h < n_log2 ? std::pow(m0, h + 1) : std::pow(m1, 2 * (h - n_log2) + 1);
}

void check(const Case& c, uint32_t seed) {
    const Inputs in = make_inputs(c, seed);
    const std::vector<float> got = flash_on_cpu(c, in);
    const int64_t d = c.head_size, n = in.n;
    int wrong = 0;
    std::vector<double> score(n), want(d);
    for (int64_t h = 0; h < c.n_head; ++h) {
        const int64_t hk = h / (c.n_head / c.n_head_kv);
        for (int64_t i = 0; i < n; ++i) {
            double top = -INFINITY;
            for (int64_t j = 0; j < n; ++j) {
                const double m = ggml_fp16_to_fp32(in.mask[i * n + j]);
                double dot = 0;
                for (int64_t e = 0; e < d; ++e)
                    dot += static_cast<double>(in.q[(h * n + i) * d + e]) * ggml_fp16_to_fp32(in.k[(hk * n + j) * d + e]);
                score[j] = std::isinf(m) ? -INFINITY : c.scale * dot + slope(c, h) * m;
                top = std::max(top, score[j]);
            }
            double sum = 0;
            std::fill(want.begin(), want.end(), 0.0);
            for (int64_t j = 0; j < n; ++j) {
                const double w = std::exp(score[j] - top);
                sum += w;
                for (int64_t e = 0; e < d; ++e) want[e] += w * ggml_fp16_to_fp32(in.v[(hk * n + j) * d + e]);
            }
            for (int64_t e = 0; e < d; ++e) {
                const float g = got[(i * c.n_head + h) * d + e];
                const double expected = want[e] / sum;
                if (!(std::abs(g - expected) <= 2e-4) && wrong++ < 3)
                    ADD_FAILURE() << "head size " << d << ", " << c.lengths.size() << " sequences, head " << h << ", query "
                                  << i << ", value " << e << ": " << g << ", not " << expected;
            }
        }
    }
}

TEST(FlashAttentionOp, MatchesSoftmaxAttentionInDouble) {
    xinfer::init_llama_runtime();
    // 64 queries and more (below that ggml takes its one-row kernel, not the tiled one); sequences
    // that end inside tiles and across them; the tiny models' head size (16) and bge's (64).
    const std::vector<std::vector<int64_t>> batches = {{70}, {33, 33, 33, 33}, {5, 60, 1, 30}, {64, 65}, {20, 150, 7}};
    uint32_t seed = 1;
    for (int64_t head_size : {16, 64})
        for (const auto& lengths : batches) {
            check(Case{head_size, 4, 2, lengths, 2.0f / std::sqrt(static_cast<float>(head_size)), 0.0f, false}, seed++);
            check(Case{head_size, 4, 4, lengths, 1.0f / std::sqrt(static_cast<float>(head_size)), 8.0f, false}, seed++);
        }
}

TEST(FlashAttentionOp, FollowsAScoreFarAboveTheRest) {
    xinfer::init_llama_runtime();
    uint32_t seed = 100;
    for (int64_t head_size : {16, 64})
        for (const auto& lengths : std::vector<std::vector<int64_t>>{{64}, {100}, {17, 80}, {33, 33, 33}})
            check(Case{head_size, 2, 1, lengths, 0.25f, 0.0f, true}, seed++);
}

}  // namespace
