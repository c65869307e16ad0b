// Facts xinfer derives for Xinference's fields: sizes and quantizations from GGUF headers, the
// model cache's entries, and cal-model-mem's estimate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli/api_client.h"
#include "cli/memory_estimate.h"
#include "registry/gguf_info.h"
#include "registry/model_cache.h"

using namespace xinfer;
namespace fs = std::filesystem;

TEST(GgufFacts, SizeInXinferenceSpelling) {
    GgufInfo g;
    g.size_label = "7B";
    EXPECT_EQ(size_in_billions(g), 7);
    g.size_label = "0.5B";
    EXPECT_EQ(size_in_billions(g), "0_5");
    g.size_label = "1.5B";
    EXPECT_EQ(size_in_billions(g), "1_5");
    g.size_label = "500M";
    EXPECT_EQ(size_in_billions(g), "0_5");
    g.size_label = "8x7B";  // no single number: the parameter count decides
    g.parameter_count = 46'700'000'000;
    EXPECT_EQ(size_in_billions(g), 47);
    g.size_label = "";
    g.parameter_count = 9'800'000;
    EXPECT_EQ(size_in_billions(g), "0_0098");
    g.parameter_count = 0;
    EXPECT_TRUE(size_in_billions(g).is_null());
    EXPECT_EQ(quantization_name(15), "Q4_K_M");
    EXPECT_EQ(quantization_name(1), "F16");
    EXPECT_EQ(quantization_name(7), "Q8_0");
    EXPECT_EQ(quantization_name(4), "");  // removed type
    EXPECT_EQ(quantization_name(-1), "");
    GgufInfo tiny = read_gguf_info(fs::path(XINFER_TEST_MODELS) / "tiny-chat.gguf");
    EXPECT_EQ(quantization_name(tiny.file_type), "F16");
    EXPECT_GT(tiny.parameter_count, 1'000'000u);
}

TEST(ModelCache, OneEntryPerVersionSplitPartsTogether) {
    fs::path home = fs::temp_directory_path() / ("xinfer-cache-" + std::to_string(::getpid()));
    fs::create_directories(home / "cache" / "m1");
    fs::create_directories(home / "cache" / "m2");
    setenv("XINFER_HOME", home.c_str(), 1);
    const fs::path chat = fs::path(XINFER_TEST_MODELS) / "tiny-chat.gguf";
    fs::copy_file(chat, home / "cache" / "m1" / "m1-q4_k_m.gguf");
    fs::copy_file(chat, home / "cache" / "m2" / "big-00001-of-00002.gguf");
    fs::copy_file(chat, home / "cache" / "m2" / "big-00002-of-00002.gguf");
    fs::copy_file(fs::path(XINFER_TEST_MODELS) / "tiny-whisper.bin", home / "cache" / "m2" / "ggml-tiny.bin");
    std::ofstream(home / "cache" / "m1" / "README.md") << "not a model";
    std::ofstream(home / "cache" / "m1" / "half.gguf.incomplete") << "partial";

    auto all = list_cached_models();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].model_version, "m1--m1-q4_k_m.gguf");
    EXPECT_EQ(all[0].quantization, "F16");  // the header's, not the file name's
    EXPECT_EQ(all[1].model_version, "m2--big-00001-of-00002.gguf");
    EXPECT_EQ(all[1].paths.size(), 2u);
    EXPECT_EQ(all[1].size_bytes, 2 * fs::file_size(chat));
    EXPECT_EQ(all[2].model_format, "ggml");
    EXPECT_EQ(list_cached_models("m1").size(), 1u);
    auto j = to_json(all[0]);
    for (auto key : {"model_name", "model_size_in_billions", "model_format", "quantization", "model_version", "path",
                     "actor_ip_address"})
        EXPECT_TRUE(j.contains(key)) << key;

    remove_cached_model(all[1]);
    EXPECT_FALSE(fs::exists(home / "cache" / "m2" / "big-00002-of-00002.gguf"));
    EXPECT_TRUE(fs::exists(home / "cache" / "m2" / "ggml-tiny.bin"));
    remove_cached_model(list_cached_models("m2").at(0));
    EXPECT_FALSE(fs::exists(home / "cache" / "m2")) << "an emptied model folder goes too";
    unsetenv("XINFER_HOME");
    fs::remove_all(home);
}

TEST(CalModelMem, PlacementsEstimateByParts) {
    auto m = cli::estimate_model_memory("7", "Q4_K_M", 4096, 16);
    EXPECT_DOUBLE_EQ(m.billions, 7);
    EXPECT_NEAR(m.model_mb, 7e9 * 4.85 / 8 / (1 << 20), 1);
    EXPECT_EQ(m.kv_cache_mb, 512u);  // 4096 x 32 layers x K,V x 8 heads x 128 x 2 bytes
    EXPECT_EQ(cli::estimate_model_memory("7", "Q4_K_M", 4096, 8).kv_cache_mb, 256u);
    EXPECT_EQ(cli::estimate_model_memory("1_5", "", 1024, 16).billions, 1.5);
    EXPECT_THROW(cli::estimate_model_memory("seven", "", 1024, 16), cli::CliError);
}
