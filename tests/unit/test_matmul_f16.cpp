// ggml's F16 matrix products on CPU as xinfer patches them (scripts/llama-patches/
// sgemm-block-sums.patch): every F16 embedder, reranker and chat model multiplies through
// llamafile's tinyBLAS, whose blocks of four output rows now end by summing the four accumulators
// together and storing the four results at once. Each output must still be its own row times its
// own column, at the shapes of small models (64-wide rows: the four-trip inner loop the patch is
// for), of bge-small (384) and at column counts that end in partial blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engines/mtmd/llama_runtime.h"
#include "ggml_cpu_graph.h"

namespace {

struct Product {
    std::vector<float> got;       // ggml's result, n columns of m
    std::vector<double> want;     // the same product in double
    std::vector<double> scale;    // sum of |terms| of each result: its rounding error's scale
};

// W (m rows of k, F16) times X (n columns of k, F32) on the CPU backend, and the reference
// computed from the same values rounded as ggml rounds them (X to F16 to meet F16 weights).
Product multiply(int64_t k, int64_t m, int64_t n, uint32_t seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::vector<ggml_fp16_t> w(k * m);
    std::vector<float> x(k * n);
    for (auto& v : w) v = ggml_fp32_to_fp16(value(random));
    for (auto& v : x) v = value(random);

    ggml_init_params params{ggml_tensor_overhead() * 4 + ggml_graph_overhead(), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    ggml_tensor* wt = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, k, m);
    ggml_tensor* xt = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n);
    ggml_tensor* y = ggml_mul_mat(ctx, wt, xt);  // m x n, column j = W x_j
    Product p;
    p.got.resize(m * n);
    xinfer::test::compute_on_cpu(
        ctx, y,
        [&] {
            ggml_backend_tensor_set(wt, w.data(), 0, w.size() * sizeof(ggml_fp16_t));
            ggml_backend_tensor_set(xt, x.data(), 0, x.size() * sizeof(float));
        },
        [&] { ggml_backend_tensor_get(y, p.got.data(), 0, p.got.size() * sizeof(float)); });
    ggml_free(ctx);

    p.want.assign(m * n, 0);
    p.scale.assign(m * n, 0);
    for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < m; ++i)
            for (int64_t l = 0; l < k; ++l) {
                const double term = static_cast<double>(ggml_fp16_to_fp32(w[i * k + l])) *
                                    ggml_fp16_to_fp32(ggml_fp32_to_fp16(x[j * k + l]));
                p.want[j * m + i] += term;
                p.scale[j * m + i] += std::abs(term);
            }
    return p;
}

TEST(MatMulF16, EveryOutputIsItsRowTimesItsColumn) {
    xinfer::init_llama_runtime();
    struct Shape {
        int64_t k, m;
    };
    // k: the tiny test models' width (64), their feed-forward's (256), bge-small's (384);
    // m: multiples of 16, of 8 and of 4 only (tinyBLAS's three ways of splitting rows).
    const Shape shapes[] = {{64, 64}, {64, 256}, {256, 64}, {384, 384}, {64, 24}, {64, 12}, {128, 4}};
    uint32_t seed = 1;
    for (const Shape& s : shapes)
        for (int64_t n : {1, 2, 5, 6, 7, 11, 25, 50}) {  // whole 6-column blocks, 5-column ones, both
            const Product p = multiply(s.k, s.m, n, seed++);
            int wrong = 0;
            for (size_t e = 0; e < p.got.size(); ++e) {
                const double error = std::abs(p.got[e] - p.want[e]);
                if (error > 1e-5 * p.scale[e] + 1e-6 && wrong++ < 3)
                    ADD_FAILURE() << "k " << s.k << ", m " << s.m << ", n " << n << ": row " << e % s.m << ", column "
                                  << e / s.m << " is " << p.got[e] << ", want " << p.want[e];
            }
            EXPECT_EQ(wrong, 0) << "k " << s.k << ", m " << s.m << ", n " << n;
        }
}

}  // namespace
