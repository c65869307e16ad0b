#include <gtest/gtest.h>

#include <filesystem>
#include <chrono>
#include <fstream>

#include "common/errors.h"
#include "engines/llama_server/llama_server_command.h"
#include "registry/model_resolver.h"

using namespace xinfer;
namespace fs = std::filesystem;

namespace {
const fs::path kChat = fs::path(XINFER_TEST_MODELS) / "tiny-chat.gguf";

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("xinfer-res-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

int status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ApiError& e) {
        return e.status();
    }
    return 0;
}
}  // namespace

TEST(GgufInfo, ReadsHeaderOfGeneratedModel) {
    auto info = read_gguf_info(kChat);
    EXPECT_EQ(info.architecture, "llama");
    EXPECT_EQ(info.embedding_length, 64);
    EXPECT_EQ(info.context_length, 4096);
    EXPECT_TRUE(info.has_chat_template);
    EXPECT_GT(info.file_size, 1000u);
}

TEST(ModelResolver, FindsGgufInDirectoryByQuantization) {
    TempDir d;
    for (auto n : {"m-q4_k_m.gguf", "m-q8_0.gguf", "mmproj-m-f16.gguf", "notes.txt"}) std::ofstream(d.path / n) << "x";
    EXPECT_EQ(find_gguf_in_dir(d.path, "Q8_0").filename(), "m-q8_0.gguf");
    EXPECT_EQ(find_gguf_in_dir(d.path, "").filename(), "m-q4_k_m.gguf");
    EXPECT_THROW(find_gguf_in_dir(d.path, "q2_k"), std::runtime_error);
}

TEST(ModelResolver, LaunchByPathAloneAndByCatalogName) {
    Registry reg(nullptr);
    auto r = resolve_model(reg, {"", std::nullopt, "", "", "", kChat.string()});
    EXPECT_EQ(r.model_name, "tiny-chat");
    EXPECT_EQ(r.type, ModelType::llm);
    EXPECT_EQ(r.ability, json({"chat", "generate"}));

    auto q = resolve_model(reg, {"qwen2.5-instruct", ModelType::llm, "", "", "", kChat.parent_path().string()});
    EXPECT_EQ(q.model_name, "qwen2.5-instruct");
    EXPECT_EQ(q.spec["context_length"], 32768);
}

TEST(ModelResolver, ClearErrors) {
    Registry reg(nullptr);
    TempDir d;
    std::ofstream(d.path / "fake.gguf") << "this is not a gguf";
    EXPECT_EQ(status_of([&] { resolve_model(reg, {"no-such-model", std::nullopt, "", "", "", ""}); }), 404);
    EXPECT_EQ(status_of([&] { resolve_model(reg, {"x", std::nullopt, "", "", "", "/no/such/file.gguf"}); }), 400);
    EXPECT_EQ(status_of([&] { resolve_model(reg, {"x", std::nullopt, "", "", "", (d.path / "fake.gguf").string()}); }), 400);
    // A catalog model whose files are not on this machine, and no hub it can reach (the hubs'
    // names do not resolve here): 503 at once, telling to pass model_path or name a mirror.
    setenv("HF_ENDPOINT", "http://no-such-host.invalid", 1);
    setenv("MODELSCOPE_ENDPOINT", "http://no-such-host.invalid", 1);
    const auto t0 = std::chrono::steady_clock::now();
    try {
        resolve_model(reg, {"qwen3", std::nullopt, "", "", "", ""});
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 503);
        EXPECT_NE(std::string(e.what()).find("pass model_path"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << "an unreachable hub fails fast";
    // Offline mode: no connection at all, and a 400 naming the missing file.
    setenv("XINFER_OFFLINE", "1", 1);
    try {
        resolve_model(reg, {"qwen3", std::nullopt, "", "", "", ""});
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("offline mode"), std::string::npos) << e.what();
    }
    unsetenv("XINFER_OFFLINE");
    unsetenv("HF_ENDPOINT");
    unsetenv("MODELSCOPE_ENDPOINT");
}

TEST(LlamaServerCommand, ChatDefaultsAndEngineOptions) {
    Registry reg(nullptr);
    auto r = resolve_model(reg, {"", std::nullopt, "", "", "", kChat.string()});
    auto cmd = llama_server_command(r, {{"n_ctx", 1024}, {"n_parallel", "2"}}, {"/bin/llama-server", "/tmp/a.sock", 2, false});
    auto has = [&](const std::string& flag, const std::string& value) {
        for (size_t i = 0; i + 1 < cmd.argv.size(); ++i)
            if (cmd.argv[i] == flag && cmd.argv[i + 1] == value) return true;
        return false;
    };
    EXPECT_TRUE(has("--ctx-size", "1024"));
    EXPECT_TRUE(has("--parallel", "2"));
    EXPECT_TRUE(has("--threads", "2"));
    EXPECT_TRUE(has("--host", "/tmp/a.sock"));
    EXPECT_TRUE(has("--n-gpu-layers", "0"));  // placement chose no GPU
    EXPECT_TRUE(has("--model", kChat.string()));
    // Defaults: four slots on CPUs, sixteen on a GPU, where batching them is nearly free.
    auto slots = [&](bool gpu) {
        auto c = llama_server_command(r, json::object(), {"/bin/llama-server", "/tmp/a.sock", 2, gpu});
        for (size_t i = 0; i + 1 < c.argv.size(); ++i)
            if (c.argv[i] == "--parallel") return c.argv[i + 1];
        return std::string("none");
    };
    EXPECT_EQ(slots(false), "4");
    EXPECT_EQ(slots(true), "16");
    EXPECT_EQ(status_of([&] { llama_server_command(r, {{"n_ctxx", 1}}, {"b", "/tmp/a.sock", 0, false}); }), 400);
    EXPECT_EQ(status_of([&] { llama_server_command(r, {{"n_ctx", "big"}}, {"b", "/tmp/a.sock", 0, false}); }), 400);
}
