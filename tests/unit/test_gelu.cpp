// ggml's GELU on CPU as xinfer patches it (scripts/llama-patches/gelu-vectorized.patch): every
// BERT-family embedder and reranker runs its feed-forward layers through it. The patch computes it
// 16 or 8 at a time in f32 instead of through ggml's fp16 lookup table; each element must be the
// tanh-form GELU to f32 accuracy (the table, which rounds input and output to fp16, is ~1e-3 off),
// with the table's clamps kept, whatever the row length (the vector loop and the scalar tail).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engines/mtmd/llama_runtime.h"
#include "ggml_cpu_graph.h"

namespace {

// GELU as llama.cpp defines it (tanh approximation), in double; ggml's clamps at +-10.
double gelu_reference(double x) {
    if (x <= -10) return 0;
    if (x >= 10) return x;
    const double u = std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1 + std::tanh(u));
}

// Runs ggml_gelu on the CPU backend over rows of `width` inputs; returns the outputs.
std::vector<float> gelu_on_cpu(const std::vector<float>& in, int64_t width) {
    return xinfer::test::rows_through_cpu(ggml_gelu, in, width);
}

bool cpu_has_vector_gelu() {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

TEST(Gelu, IsTheTanhFormToFloatAccuracyAtEveryRowLength) {
    if (!cpu_has_vector_gelu()) GTEST_SKIP() << "this CPU has no AVX2+FMA: ggml keeps its fp16 table here";
    xinfer::init_llama_runtime();
    // Inputs from -12 to 12 in steps that are not a multiple of any row length, so every value
    // lands in the vector loop at some width and in the tail at another; the clamp edges exactly.
    std::vector<float> values;
    for (double v = -12; v <= 12; v += 0.00731) values.push_back(static_cast<float>(v));
    for (float edge : {-10.0f, 10.0f, std::nextafter(-10.0f, 0.0f), std::nextafter(10.0f, 0.0f), 0.0f, -0.0f, 1e-30f, -1e-30f})
        values.push_back(edge);
    for (int64_t width : {1, 7, 8, 9, 15, 16, 17, 31, 33, 256, 1536}) {
        std::vector<float> in = values;
        in.resize((in.size() + width - 1) / width * width, 0.5f);
        const std::vector<float> out = gelu_on_cpu(in, width);
        double worst = 0;
        size_t worst_at = 0;
        for (size_t i = 0; i < in.size(); ++i) {
            const double want = gelu_reference(in[i]);
            const double error = std::abs(out[i] - want) / std::max(1.0, std::abs(want));
            if (error > worst) worst = error, worst_at = i;
        }
        EXPECT_LT(worst, 2e-6) << "rows of " << width << ": gelu(" << in[worst_at] << ") = " << out[worst_at]
                               << ", want " << gelu_reference(in[worst_at]);
    }
}

TEST(Gelu, KeepsTheClampsAndGivesNoNaN) {
    if (!cpu_has_vector_gelu()) GTEST_SKIP() << "this CPU has no AVX2+FMA: ggml keeps its fp16 table here";
    xinfer::init_llama_runtime();
    const std::vector<float> in = {-INFINITY, -1e30f, -100.0f, -10.5f, -10.0f, 10.0f, 10.5f, 100.0f, 1e30f, INFINITY,
                                   -88.0f,    -50.0f, -20.0f,  -11.0f, 11.0f,  20.0f, 50.0f,  88.0f};
    const std::vector<float> out = gelu_on_cpu(in, static_cast<int64_t>(in.size()));  // 16 vector, 2 scalar
    for (size_t i = 0; i < in.size(); ++i) {
        EXPECT_FALSE(std::isnan(out[i])) << "gelu(" << in[i] << ")";
        EXPECT_EQ(out[i], in[i] <= -10 ? 0.0f : in[i]) << "gelu(" << in[i] << ")";
    }
}

}  // namespace
