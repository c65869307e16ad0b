#include <gtest/gtest.h>

#include <filesystem>

#include "common/errors.h"
#include "registry/registry.h"

using namespace xinfer;
namespace fs = std::filesystem;

TEST(Catalog, HasPopularGgufChatModels) {
    Registry reg(nullptr);
    for (auto name : {"qwen2.5-instruct", "qwen3", "llama-3.1-instruct", "llama-3.2-instruct", "glm4-chat",
                      "deepseek-r1-distill-qwen", "deepseek-r1-distill-llama"}) {
        auto s = reg.find(ModelType::llm, name);
        ASSERT_TRUE(s.has_value()) << name;
        EXPECT_TRUE(s->builtin);
        const auto& specs = s->spec["model_specs"];
        ASSERT_FALSE(specs.empty()) << name;
        EXPECT_EQ(specs[0]["model_format"], "ggufv2");
        const auto& hf = specs[0]["model_src"]["huggingface"];
        EXPECT_FALSE(hf["quantizations"].empty());
        EXPECT_NE(hf["model_file_name_template"].get<std::string>().find("{quantization}"), std::string::npos);
        EXPECT_GT(s->spec["context_length"].get<int>(), 0);
    }
}

TEST(Registry, CustomRegistrationRules) {
    Registry reg(nullptr);
    json spec = {{"model_name", "my-model"}, {"model_ability", {"chat"}}, {"context_length", 2048}};
    reg.add(ModelType::llm, spec, false);
    EXPECT_TRUE(reg.find(ModelType::llm, "my-model").has_value());
    EXPECT_FALSE(reg.find(ModelType::embedding, "my-model").has_value());
    try {
        reg.add(ModelType::llm, spec, false);
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 409);
    }
    try {
        reg.add(ModelType::llm, {{"model_name", "qwen3"}}, false);
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 409);
    }
    EXPECT_THROW(reg.add(ModelType::llm, {{"model_name", "bad name!"}}, false), ApiError);
    EXPECT_THROW(reg.add(ModelType::llm, {{"context_length", 5}}, false), ApiError);
    EXPECT_THROW(reg.remove(ModelType::llm, "qwen3"), ApiError);
    reg.remove(ModelType::llm, "my-model");
    EXPECT_FALSE(reg.find(ModelType::llm, "my-model").has_value());
    try {
        reg.remove(ModelType::llm, "my-model");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 404);
    }
}

TEST(Registry, PersistedRegistrationsSurviveReopen) {
    auto dir = fs::temp_directory_path() / ("xinfer-reg-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
        Registry reg(std::make_shared<RegistrationStore>(dir / "x.db"));
        reg.add(ModelType::llm, {{"model_name", "kept"}}, true);
        reg.add(ModelType::llm, {{"model_name", "forgotten"}}, false);
    }
    {
        Registry reg(std::make_shared<RegistrationStore>(dir / "x.db"));
        EXPECT_TRUE(reg.find(ModelType::llm, "kept").has_value());
        EXPECT_FALSE(reg.find(ModelType::llm, "forgotten").has_value());
        reg.remove(ModelType::llm, "kept");
    }
    {
        Registry reg(std::make_shared<RegistrationStore>(dir / "x.db"));
        EXPECT_FALSE(reg.find(ModelType::llm, "kept").has_value());
    }
    fs::remove_all(dir);
}

TEST(Catalog, HasEmbeddingAndRerankModelsWithDimensions) {
    Registry reg(nullptr);
    for (auto name : {"bge-large-zh-v1.5", "bge-large-en-v1.5", "bge-small-en-v1.5", "bge-m3", "bce-embedding-base_v1",
                      "nomic-embed-text-v1.5", "gte-base", "multilingual-e5-large"}) {
        auto s = reg.find(ModelType::embedding, name);
        ASSERT_TRUE(s.has_value()) << name;
        EXPECT_GT(s->spec["dimensions"].get<int>(), 0) << name;
        EXPECT_GT(s->spec["max_tokens"].get<int>(), 0) << name;
        EXPECT_EQ(s->spec["model_specs"][0]["model_format"], "ggufv2");
    }
    EXPECT_EQ(reg.find(ModelType::embedding, "bge-m3")->spec["dimensions"], 1024);
    for (auto name : {"bge-reranker-v2-m3", "bge-reranker-base", "bge-reranker-large", "bce-reranker-base_v1",
                      "jina-reranker-v1-turbo-en", "jina-reranker-v2"}) {
        auto s = reg.find(ModelType::rerank, name);
        ASSERT_TRUE(s.has_value()) << name;
        EXPECT_GT(s->spec["max_tokens"].get<int>(), 0) << name;
    }
    // find_any resolves a launch that names no type.
    EXPECT_EQ(reg.find_any("bge-m3")->type, ModelType::embedding);
}
