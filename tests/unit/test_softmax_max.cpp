// ggml's softmax on CPU as xinfer patches it (scripts/llama-patches/vec-max-simd.patch): the
// maximum it subtracts from a row before exponentiating is now taken 16 or 8 values at a time.
// A maximum that missed one value does not show on ordinary scores (softmax does not depend on
// the constant subtracted), only when the missed value is far above the rest: exp of the
// difference overflows and the row turns to inf or NaN. So each row here holds one score 200 above
// the others, at every position of every row length (the vector loop and the scalar tail), and
// its softmax must put all the weight there.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engines/mtmd/llama_runtime.h"
#include "ggml_cpu_graph.h"

namespace {

TEST(SoftMax, PutsTheWeightOnAScoreFarAboveTheRestAtEveryPositionAndRowLength) {
    xinfer::init_llama_runtime();
    std::mt19937 random(5);
    std::uniform_real_distribution<float> low(-5.0f, 5.0f);
    for (int64_t width = 1; width <= 70; ++width) {
        // row p has its high score at position p
        std::vector<float> in(width * width);
        for (float& v : in) v = low(random);
        for (int64_t p = 0; p < width; ++p) in[p * width + p] = 200.0f + low(random);
        const std::vector<float> out = xinfer::test::rows_through_cpu(ggml_soft_max, in, width);
        for (int64_t p = 0; p < width; ++p)
            for (int64_t i = 0; i < width; ++i) {
                const float v = out[p * width + i];
                ASSERT_TRUE(std::isfinite(v)) << "row length " << width << ", high score at " << p << ": value " << i << " is " << v;
                EXPECT_NEAR(v, i == p ? 1.0f : 0.0f, 1e-6) << "row length " << width << ", high score at " << p << ", value " << i;
            }
    }
}

}  // namespace
