#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "common/sqlite_db.h"
#include "supervisor/launch_request.h"
#include "supervisor/model_state.h"
#include "supervisor/model_store.h"
#include "supervisor/placement.h"
#include "registry/whisper_info.h"
#include "worker/inventory.h"

using namespace xinfer;

TEST(ModelState, OnlyLegalTransitions) {
    EXPECT_TRUE(can_transition(ModelState::launching, ModelState::ready));
    EXPECT_TRUE(can_transition(ModelState::ready, ModelState::idle_unloaded));
    EXPECT_TRUE(can_transition(ModelState::idle_unloaded, ModelState::launching));
    EXPECT_TRUE(can_transition(ModelState::ready, ModelState::launching));  // restart after a crash
    EXPECT_FALSE(can_transition(ModelState::failed, ModelState::ready));
    EXPECT_FALSE(can_transition(ModelState::terminating, ModelState::ready));
    EXPECT_FALSE(can_transition(ModelState::idle_unloaded, ModelState::ready));
}

TEST(LaunchRequest, KeepAliveDurationsAndLimits) {
    auto ka = [](json v) { return *LaunchRequest::from_json({{"model_name", "x"}, {"keep_alive", v}}).keep_alive_s; };
    EXPECT_EQ(ka(30), 30);
    EXPECT_EQ(ka("45s"), 45);
    EXPECT_EQ(ka("5m"), 300);
    EXPECT_EQ(ka("1h"), 3600);
    EXPECT_EQ(ka(-1), -1);
    EXPECT_THROW(ka("soon"), ApiError);
    auto r = LaunchRequest::from_json({{"model_name", "x"}, {"request_limits", 2}, {"request_queue", 5}});
    EXPECT_EQ(*r.request_limits, 2);
    EXPECT_EQ(*r.request_queue, 5);
    auto back = LaunchRequest::from_json(r.to_json());  // persistence round trip
    EXPECT_EQ(*back.request_queue, 5);
    EXPECT_FALSE(back.engine_options.contains("request_queue"));
}

TEST(Inventory, SimulatedGpus) {
    auto g = parse_simulated_gpus("0:NVIDIA H100:81559,1:NVIDIA L4:23034");
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[1].name, "NVIDIA L4");
    EXPECT_EQ(g[1].memory_total_mb, 23034u);
    EXPECT_THROW(parse_simulated_gpus("bad"), std::invalid_argument);
    Inventory inv = read_inventory();
    EXPECT_GE(inv.cpu_cores, 1);
    EXPECT_GT(inv.ram_total_mb, 0u);
}

TEST(Placement, MemoryEstimateGrowsWithContext) {
    ResolvedModel m;
    m.type = ModelType::llm;
    m.gguf.file_size = 4000ull << 20;
    m.gguf.embedding_length = 4096;
    m.gguf.head_count = 32;
    m.gguf.head_count_kv = 8;
    m.gguf.block_count = 32;
    // 8B-class, 8k context: ~4 GB weights + 1 GiB KV cache (f16) + margins.
    uint64_t small = estimate_memory_mb(m, 2048), big = estimate_memory_mb(m, 8192);
    EXPECT_EQ(big - small, 768u);  // 6144 tokens x 32 layers x 2 x 8 heads x 128 x 2 bytes
    EXPECT_GT(small, 4400u);
}

TEST(Placement, DecoderEmbeddersCountTheirKvCacheAndBertDoesNot) {
    // Qwen3-Embedding-0.6B's header: 28 layers, 1024 wide, 16 heads, 8 KV heads, 32k trained.
    ResolvedModel qwen;
    qwen.type = ModelType::embedding;
    qwen.gguf.architecture = "qwen3";
    qwen.gguf.file_size = 600ull << 20;
    qwen.gguf.embedding_length = 1024;
    qwen.gguf.head_count = 16;
    qwen.gguf.head_count_kv = 8;
    qwen.gguf.block_count = 28;
    qwen.gguf.context_length = 32768;
    // 6144 more tokens x 28 layers x 2 x 8 heads x 64 x 2 bytes = 336 MiB.
    EXPECT_EQ(estimate_memory_mb(qwen, 8192) - estimate_memory_mb(qwen, 2048), 336u);
    // The model host holds one context as long as the longest input (8192 at most); llama-server
    // (chosen by an option only it has) holds four.
    LaunchRequest host, server;
    server.engine_options = {{"n_parallel", 4}};
    EXPECT_EQ(planned_context(qwen, host), 8192);
    EXPECT_EQ(planned_context(qwen, server), 4 * 8192);
    // BERT keeps no cache: its context costs nothing beyond the compute buffers.
    ResolvedModel bert = qwen;
    bert.gguf.architecture = "bert";
    EXPECT_EQ(estimate_memory_mb(bert, 8192), estimate_memory_mb(bert, 2048));
}

TEST(Placement, AudioModelsOnLlamaCppCountTheirProjectorAndEachSlotsContext) {
    // Qwen3-ASR-1.7B's shape: 28 layers, 2048 wide, 16 heads, 8 KV heads; model + mmproj on disk.
    ResolvedModel asr;
    asr.type = ModelType::audio;
    asr.engine = "mtmd";
    asr.gguf.file_size = (2065ull + 339ull) << 20;
    asr.gguf.projector_size = 339ull << 20;
    asr.gguf.embedding_length = 2048;
    asr.gguf.head_count = 16;
    asr.gguf.head_count_kv = 8;
    asr.gguf.block_count = 28;
    asr.gguf.vocab_size = 151936;
    // A context of 2048 tokens per slot: 2048 x 28 layers x 2 x 8 heads x 128 x 2 bytes = 224 MiB.
    EXPECT_EQ(estimate_memory_mb(asr, 0, 3) - estimate_memory_mb(asr, 0, 1), 2u * 224u);
    EXPECT_GT(estimate_memory_mb(asr, 0, 1), 2404u + 224u);
    // The same shape as a voice: 4096 tokens a slot, and each slot also holds its projector
    // and a float copy of the token embeddings (151936 x 2048 x 4 bytes = 1187 MiB).
    ResolvedModel tts = asr;
    tts.engine = "mtmd-tts";
    EXPECT_EQ(estimate_memory_mb(tts, 0, 2) - estimate_memory_mb(tts, 0, 1), 448u + 1187u + 339u);
}

TEST(Placement, WhisperCountsOneStatePerDecodingSlot) {
    // large-v3's header: 1500 audio frames, 1280 wide, 32 + 32 layers, 448 text positions.
    auto dir = std::filesystem::temp_directory_path() / "xinfer-whisper-header";
    std::filesystem::create_directories(dir);
    {
        std::ofstream f(dir / "ggml-large-v3.bin", std::ios::binary);
        const uint32_t magic = 0x67676d6c;
        const int32_t hp[11] = {51866, 1500, 1280, 20, 32, 448, 1280, 20, 32, 128, 1};
        f.write(reinterpret_cast<const char*>(&magic), sizeof magic);
        f.write(reinterpret_cast<const char*>(hp), sizeof hp);
    }
    auto h = read_whisper_hparams(dir / "ggml-large-v3.bin");
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->n_audio_ctx, 1500);
    EXPECT_EQ(h->n_text_layer, 32);
    // About 1 GB a state (whisper.cpp's published total for large less its weights).
    EXPECT_NEAR(whisper_state_bytes(*h) / 1e6, 1000, 100);
    ResolvedModel m;
    m.type = ModelType::audio;
    m.whisper = h;
    EXPECT_NEAR(static_cast<double>(estimate_memory_mb(m, 0, 4) - estimate_memory_mb(m, 0, 1)),
                3.0 * whisper_state_bytes(*h) / (1 << 20), 1.0);
    EXPECT_FALSE(read_whisper_hparams(std::string(XINFER_TEST_MODELS) + "/tiny-chat.gguf").has_value());
    auto tiny = read_whisper_hparams(std::string(XINFER_TEST_MODELS) + "/tiny-whisper.bin");
    ASSERT_TRUE(tiny.has_value());
    // Measured: a host's resident memory grows ~27 MB per extra state on this model.
    EXPECT_NEAR(whisper_state_bytes(*tiny) / 1e6, 30, 10);
    std::filesystem::remove_all(dir);
}

TEST(ModelStore, RemembersLaunchesAndHistory) {
    auto path = std::filesystem::temp_directory_path() / ("xinfer-store-" + std::to_string(::getpid()) + ".db");
    {
        ModelStore store(std::make_shared<SqliteDb>(path));
        store.put("a", {{"model_uid", "a"}, {"n_ctx", 1024}});
        store.put("b", {{"model_uid", "b"}});
        store.remove("b");
        store.record("a", "launch", "/m.gguf");
    }
    {
        ModelStore store(std::make_shared<SqliteDb>(path));
        auto launched = store.launched();
        ASSERT_EQ(launched.size(), 1u);
        EXPECT_EQ(launched[0]["n_ctx"], 1024);
        EXPECT_EQ(store.history("a")[0]["event"], "launch");
    }
    // Closed first: SQLite leaves its -wal and -shm files beside a database removed while open.
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}
