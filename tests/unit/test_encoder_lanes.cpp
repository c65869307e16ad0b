// The embedding and rerank engine's compute lanes: on CPU one per thread (at most 4), running side
// by side. Whatever lane a text lands on, beside whatever other texts, it must get the vector (or
// score) it gets alone on a one-lane engine; a long input only lane 0's context holds must still
// be served. BERT, a decoder-based embedder (its lanes each have a KV cache) and a reranker.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "engines/llama_encoder/llama_encoder.h"

using xinfer::LlamaEncoder;
using xinfer::Tokens;

namespace {

const std::string kModel = std::string(XINFER_TEST_MODELS) + "/tiny-embed.gguf";

// How far apart two results are: 1 - cosine for vectors, the relative difference for scores.
double distance(const std::vector<float>& a, const std::vector<float>& b);

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    return a.size() == b.size() && na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0;
}

// Texts of different lengths; text 5 is longer than a run on a lane other than lane 0 (192 tokens).
std::vector<std::string> texts() {
    std::vector<std::string> out;
    for (int i = 0; i < 12; ++i) {
        std::string t = "document " + std::to_string(i) + " about search";
        for (int k = 0; k < i % 4; ++k) t += " and rerank models on small servers";
        out.push_back(t);
    }
    std::string lng;
    for (int k = 0; k < 60; ++k) lng += "a long meeting transcript line " + std::to_string(k) + " ";
    out[5] = lng;
    return out;
}

double distance(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() == 1 && b.size() == 1) return std::abs(a[0] - b[0]) / std::max(1.0f, std::abs(b[0]));
    return 1 - cosine(a, b);
}

// Each text alone on a one-lane engine, then 8 clients at once on a two-lane one.
void check_side_by_side(const std::string& model, LlamaEncoder::Task task) {
    const std::vector<std::string> all = texts();
    auto input = [&](const LlamaEncoder& e, size_t i) {
        return task == LlamaEncoder::Task::rerank ? e.rerank_pair("which text is about search?", all[i]) : e.tokenize(all[i], true);
    };
    std::vector<std::vector<float>> alone;
    {
        LlamaEncoder one(model, task, 1, false);
        ASSERT_EQ(one.lanes(), 1);
        for (size_t i = 0; i < all.size(); ++i) alone.push_back(one.encode({input(one, i)})[0]);
        ASSERT_GT(input(one, 5).size(), 192u) << "text 5 must be longer than a run on lane 1";
    }

    LlamaEncoder enc(model, task, 2, false);
    ASSERT_EQ(enc.lanes(), 2);
    constexpr int kClients = 8, kCalls = 40;
    std::vector<std::string> failures(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c)
        clients.emplace_back([&, c] {
            for (int i = 0; i < kCalls && failures[c].empty(); ++i) {
                // Mostly one text a call, every fifth call three (one of them the long one).
                std::vector<size_t> picks = {static_cast<size_t>(c * 7 + i) % all.size()};
                if (i % 5 == 4) picks = {static_cast<size_t>(i) % all.size(), 5, static_cast<size_t>(c) % all.size()};
                std::vector<Tokens> inputs;
                for (size_t p : picks) inputs.push_back(input(enc, p));
                const auto got = enc.encode(inputs);
                for (size_t k = 0; k < picks.size(); ++k) {
                    const double d = distance(got[k], alone[picks[k]]);
                    if (!(d <= 1e-4))
                        failures[c] = "client " + std::to_string(c) + " call " + std::to_string(i) + ": text " + std::to_string(picks[k]) +
                                      " is " + std::to_string(d) + " away from its lone result";
                }
            }
        });
    for (auto& t : clients) t.join();
    for (const std::string& f : failures) EXPECT_EQ(f, "");
    const LlamaEncoder::Stats s = enc.stats();
    EXPECT_GT(s.side_by_side_runs, 0u) << "the two lanes never ran at once (" << s.runs << " runs)";
    EXPECT_EQ(s.wide_runs, 0u) << "a 64-wide model gains nothing from two threads on one text";
}

}  // namespace

TEST(EncoderLanes, OnePerThreadAtMostFour) {
    EXPECT_EQ(LlamaEncoder(kModel, LlamaEncoder::Task::embedding, 1, false).lanes(), 1);
    EXPECT_EQ(LlamaEncoder(kModel, LlamaEncoder::Task::embedding, 2, false).lanes(), 2);
    EXPECT_EQ(LlamaEncoder(kModel, LlamaEncoder::Task::embedding, 8, false).lanes(), 4);
}

TEST(EncoderLanes, TextsRunSideBySideAndGetTheirLoneVectors) {
    check_side_by_side(kModel, LlamaEncoder::Task::embedding);
}

TEST(EncoderLanes, ADecoderEmbedderToo) {
    check_side_by_side(std::string(XINFER_TEST_MODELS) + "/tiny-embed-decoder.gguf", LlamaEncoder::Task::embedding);
}

TEST(EncoderLanes, RerankScoresToo) {
    check_side_by_side(std::string(XINFER_TEST_MODELS) + "/tiny-rerank.gguf", LlamaEncoder::Task::rerank);
}
