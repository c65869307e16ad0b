#include <gtest/gtest.h>

#include "common/errors.h"
#include "supervisor/launch_request.h"

using namespace xinfer;

TEST(LaunchRequest, ParsesXinferenceBody) {
    auto r = LaunchRequest::from_json(json::parse(R"({
        "model_name": "qwen2.5-instruct", "model_type": "LLM", "model_engine": "llama.cpp",
        "model_format": "ggufv2", "model_size_in_billions": 0.5, "quantization": "q4_k_m",
        "replica": 2, "n_gpu": null, "gpu_idx": [0, 1], "n_ctx": 2048, "envs": {"A": "b"}})"));
    EXPECT_EQ(r.model_name, "qwen2.5-instruct");
    EXPECT_EQ(*r.model_type, ModelType::llm);
    EXPECT_EQ(r.model_size_in_billions, "0_5");
    EXPECT_EQ(r.replica, 2);
    EXPECT_TRUE(r.n_gpu.is_null());
    EXPECT_EQ(r.gpu_idx, (std::vector<int>{0, 1}));
    EXPECT_EQ(r.engine_options["n_ctx"], 2048);
    EXPECT_FALSE(r.engine_options.contains("replica"));
    EXPECT_EQ(r.envs["A"], "b");
    EXPECT_TRUE(r.wait_ready);
}

TEST(LaunchRequest, DefaultsNgpuToAuto) {
    auto r = LaunchRequest::from_json(json::parse(R"({"model_name": "x"})"));
    EXPECT_EQ(r.n_gpu, "auto");
    EXPECT_EQ(r.replica, 1);
}

TEST(LaunchRequest, RejectsBadFields) {
    EXPECT_THROW(LaunchRequest::from_json(json::parse(R"({})")), ApiError);
    EXPECT_THROW(LaunchRequest::from_json(json::parse(R"({"model_name": 5})")), ApiError);
    EXPECT_THROW(LaunchRequest::from_json(json::parse(R"({"model_name": "x", "model_type": "video"})")), ApiError);
    EXPECT_THROW(LaunchRequest::from_json(json::parse(R"({"model_name": "x", "replica": 0})")), ApiError);
    EXPECT_THROW(LaunchRequest::from_json(json::parse(R"({"model_name": "x", "n_gpu": "many"})")), ApiError);
    EXPECT_THROW(LaunchRequest::from_json(json::parse(R"({"model_name": "x", "gpu_idx": ["a"]})")), ApiError);
}
