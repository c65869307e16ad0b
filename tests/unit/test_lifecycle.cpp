#include <gtest/gtest.h>

#include <filesystem>

#include "common/errors.h"
#include "common/sqlite_db.h"
#include "supervisor/launch_request.h"
#include "supervisor/model_state.h"
#include "supervisor/model_store.h"
#include "supervisor/placement.h"
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

TEST(ModelStore, RemembersLaunchesAndHistory) {
    auto path = std::filesystem::temp_directory_path() / ("xinfer-store-" + std::to_string(::getpid()) + ".db");
    {
        ModelStore store(std::make_shared<SqliteDb>(path));
        store.put("a", {{"model_uid", "a"}, {"n_ctx", 1024}});
        store.put("b", {{"model_uid", "b"}});
        store.remove("b");
        store.record("a", "launch", "/m.gguf");
    }
    ModelStore store(std::make_shared<SqliteDb>(path));
    auto launched = store.launched();
    ASSERT_EQ(launched.size(), 1u);
    EXPECT_EQ(launched[0]["n_ctx"], 1024);
    EXPECT_EQ(store.history("a")[0]["event"], "launch");
    std::filesystem::remove(path);
}
