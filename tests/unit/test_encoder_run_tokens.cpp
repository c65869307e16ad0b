// How many tokens the embedding/rerank engine puts in one graph run: small runs on CPUs (each
// sequence's attention spans the run), big ones on GPUs (a run of dozens costs about one).
#include <gtest/gtest.h>

#include "engines/llama_encoder/llama_encoder.h"

using xinfer::LlamaEncoder;

TEST(EncoderRunTokens, SmallOnCpuLargeOnGpuNeverBeyondTheLongestInput) {
    EXPECT_EQ(LlamaEncoder::run_tokens(8192, false), 192);
    EXPECT_EQ(LlamaEncoder::run_tokens(8192, true), 1024);
    // A model whose inputs are shorter than a run: one run holds at most its context.
    EXPECT_EQ(LlamaEncoder::run_tokens(128, false), 128);
    EXPECT_EQ(LlamaEncoder::run_tokens(512, true), 512);
}
