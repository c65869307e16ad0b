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

TEST(LaunchRequest, XinferenceGenericKeysAreReportedNotRefused) {
    // The body Xinference's CLI sends on every launch.
    auto r = LaunchRequest::from_json(json::parse(R"({
        "model_name": "qwen3", "model_engine": "llama.cpp", "peft_model_config": null, "n_worker": 1,
        "worker_ip": null, "replica_config": null, "enable_thinking": false, "enable_virtual_env": null,
        "virtual_env_packages": null, "virtual_env_find_links": null, "envs": null, "trust_remote_code": true,
        "quantization_config": {"load_in_4bit": true}, "reasoning_content": true, "download_hub": "modelscope"})"));
    EXPECT_TRUE(r.engine_options.empty() || r.engine_options.size() == 1) << r.engine_options.dump();
    EXPECT_EQ(r.engine_options["reasoning_format"], "deepseek");  // reasoning_content: thoughts in their own field
    ASSERT_TRUE(r.enable_thinking.has_value());
    EXPECT_FALSE(*r.enable_thinking);
    std::string all;
    for (auto& i : r.ignored) all += i + "\n";
    EXPECT_NE(all.find("trust_remote_code=true: "), std::string::npos) << all;
    EXPECT_NE(all.find("quantization_config="), std::string::npos) << all;
    EXPECT_EQ(r.download_hub, "modelscope");  // honoured: where a missing model is downloaded from
    EXPECT_EQ(all.find("enable_virtual_env"), std::string::npos) << "unset keys are not reported";
    EXPECT_EQ(r.ignored.size(), 2u) << all;
    EXPECT_THROW(LaunchRequest::from_json(json{{"model_name", "x"}, {"download_hub", "csghub"}}), ApiError);
    // Engine options are still the engine's to judge.
    auto e = LaunchRequest::from_json(json::parse(R"({"model_name": "x", "tensor_parallel_size": 2})"));
    EXPECT_EQ(e.engine_options["tensor_parallel_size"], 2);
    // The thinking switch survives persistence.
    EXPECT_FALSE(*LaunchRequest::from_json(r.to_json()).enable_thinking);
}
