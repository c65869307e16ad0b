// ggml's element-wise add and multiply on CPU as xinfer patches them (scripts/llama-patches/
// binary-ops-stepped-indices.patch): every model adds its biases and residuals through them, with
// the second operand broadcast over rows, heads and sequences. The patch steps each row's indices
// from the last row's instead of dividing them out of the row number, so every output must still
// be its own element combined with the broadcast element that ggml's repeat rule picks
// (index modulo src1's extent in each dimension), for every shape src1 can repeat into src0 and
// wherever the CPU threads split the rows.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "engines/mtmd/llama_runtime.h"
#include "ggml_cpu_graph.h"

namespace {

using Shape = std::array<int64_t, 4>;

int64_t elements(const Shape& s) { return s[0] * s[1] * s[2] * s[3]; }

// a (shape `a_shape`) op b (shape `b_shape`, repeated into a's) on the CPU backend.
std::vector<float> on_cpu(bool multiply, const Shape& a_shape, const std::vector<float>& a, const Shape& b_shape,
                          const std::vector<float>& b) {
    ggml_init_params params{ggml_tensor_overhead() * 4 + ggml_graph_overhead(), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    ggml_tensor* at = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, a_shape[0], a_shape[1], a_shape[2], a_shape[3]);
    ggml_tensor* bt = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, b_shape[0], b_shape[1], b_shape[2], b_shape[3]);
    ggml_tensor* y = multiply ? ggml_mul(ctx, at, bt) : ggml_add(ctx, at, bt);
    std::vector<float> out(a.size());
    xinfer::test::compute_on_cpu(
        ctx, y,
        [&] {
            ggml_backend_tensor_set(at, a.data(), 0, a.size() * sizeof(float));
            ggml_backend_tensor_set(bt, b.data(), 0, b.size() * sizeof(float));
        },
        [&] { ggml_backend_tensor_get(y, out.data(), 0, out.size() * sizeof(float)); });
    ggml_free(ctx);
    return out;
}

TEST(BroadcastOps, EveryOutputCombinesItsElementWithTheRepeatedOne) {
    xinfer::init_llama_runtime();
    // src0 with rows of 5 and 16, in 6 rows x 4 heads x 3 sequences; src1 repeated along no, one,
    // two or all three outer dimensions, by factors that differ per dimension, and along rows too.
    const Shape a_shapes[] = {{5, 6, 4, 3}, {16, 6, 4, 3}};
    std::mt19937 random(3);
    std::uniform_real_distribution<float> value(-2.0f, 2.0f);
    for (const Shape& a_shape : a_shapes) {
        const int64_t w = a_shape[0];
        const Shape b_shapes[] = {{w, 1, 1, 1}, {w, 6, 4, 3}, {w, 3, 2, 1}, {w, 2, 1, 3}, {w, 6, 1, 1},
                                  {w, 1, 4, 1}, {w, 1, 1, 3}, {w, 3, 4, 3}, {w, 1, 2, 3}, {1, 3, 2, 1}};
        for (const Shape& b_shape : b_shapes)
            for (bool multiply : {false, true}) {
                std::vector<float> a(elements(a_shape)), b(elements(b_shape));
                for (float& v : a) v = value(random);
                for (float& v : b) v = value(random);
                const std::vector<float> got = on_cpu(multiply, a_shape, a, b_shape, b);
                int wrong = 0;
                for (int64_t i3 = 0; i3 < a_shape[3]; ++i3)
                    for (int64_t i2 = 0; i2 < a_shape[2]; ++i2)
                        for (int64_t i1 = 0; i1 < a_shape[1]; ++i1)
                            for (int64_t i0 = 0; i0 < a_shape[0]; ++i0) {
                                const int64_t ia = ((i3 * a_shape[2] + i2) * a_shape[1] + i1) * a_shape[0] + i0;
                                const int64_t ib = (((i3 % b_shape[3]) * b_shape[2] + i2 % b_shape[2]) * b_shape[1] +
                                                    i1 % b_shape[1]) * b_shape[0] + i0 % b_shape[0];
                                const float want = multiply ? a[ia] * b[ib] : a[ia] + b[ib];
                                if (got[ia] != want && wrong++ < 3)
                                    ADD_FAILURE() << (multiply ? "mul" : "add") << " src0 " << a_shape[0] << "x" << a_shape[1]
                                                  << "x" << a_shape[2] << "x" << a_shape[3] << ", src1 " << b_shape[0] << "x"
                                                  << b_shape[1] << "x" << b_shape[2] << "x" << b_shape[3] << ": element (" << i0
                                                  << ", " << i1 << ", " << i2 << ", " << i3 << ") is " << got[ia] << ", not "
                                                  << want;
                            }
            }
    }
}

}  // namespace
