// The download planning that needs no network: which files a quantization names (split GGUFs
// included), the catalog's spelling of a quantization, the hub order and the mirror list.
#include <gtest/gtest.h>

#include <cstdlib>

#include "hub/hub_api.h"
#include "hub/model_download.h"
#include "hub/sha256.h"

using namespace xinfer;
using json = nlohmann::json;

TEST(HubFiles, TemplatesAndSplitParts) {
    const json src = {{"model_id", "Qwen/Qwen2.5-7B-Instruct-GGUF"},
                      {"quantizations", {"q4_k_m", "q8_0"}},
                      {"model_file_name_template", "qwen2.5-7b-instruct-{quantization}.gguf"},
                      {"model_file_name_split_template", "qwen2.5-7b-instruct-{quantization}-{part}.gguf"},
                      {"quantization_parts", {{"q8_0", {"00001-of-00003", "00002-of-00003", "00003-of-00003"}}}}};
    EXPECT_EQ(files_for_quantization(src, "q4_k_m"), (std::vector<std::string>{"qwen2.5-7b-instruct-q4_k_m.gguf"}));
    const auto parts = files_for_quantization(src, "q8_0");
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0], "qwen2.5-7b-instruct-q8_0-00001-of-00003.gguf");
    EXPECT_EQ(parts[2], "qwen2.5-7b-instruct-q8_0-00003-of-00003.gguf");
    EXPECT_EQ(match_quantization(src, "Q4_K_M"), "q4_k_m");
    EXPECT_EQ(match_quantization(src, ""), "q4_k_m");
    EXPECT_EQ(files_for_quantization(json{{"model_file_name", "ggml-tiny.bin"}}, ""), (std::vector<std::string>{"ggml-tiny.bin"}));
}

TEST(HubOrder, DownloadHubThenSettingThenLocale) {
    const std::vector<std::string> both = {"huggingface", "modelscope"};
    unsetenv("XINFERENCE_MODEL_SRC");
    setenv("LANG", "zh_CN.UTF-8", 1);
    EXPECT_EQ(hub_order("", both), (std::vector<std::string>{"modelscope", "huggingface"}));
    setenv("LANG", "en_US.UTF-8", 1);
    EXPECT_EQ(hub_order("", both), (std::vector<std::string>{"huggingface", "modelscope"}));
    setenv("XINFERENCE_MODEL_SRC", "modelscope", 1);
    EXPECT_EQ(hub_order("", both).front(), "modelscope");
    EXPECT_EQ(hub_order("huggingface", both), (std::vector<std::string>{"huggingface"}));
    EXPECT_TRUE(hub_order("modelscope", {"huggingface"}).empty());
    unsetenv("XINFERENCE_MODEL_SRC");
}

TEST(HubEndpoints, MirrorsFirstThenEndpoint) {
    setenv("XINFER_HUB_MIRRORS", "http://a.example/, http://b.example", 1);
    setenv("HF_ENDPOINT", "https://hf-mirror.com/", 1);
    const auto e = endpoints_for("huggingface");
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0].base, "http://a.example");
    EXPECT_EQ(e[2].base, "https://hf-mirror.com");
    unsetenv("XINFER_HUB_MIRRORS");
    unsetenv("HF_ENDPOINT");
    EXPECT_EQ(endpoints_for("huggingface").at(0).base, "https://huggingface.co");
    RepoListing l{{"huggingface", "https://huggingface.co"}, "org/name", "abc", {}};
    EXPECT_EQ(file_url(l, "sub dir/a+b.gguf"), "https://huggingface.co/org/name/resolve/abc/sub%20dir/a%2Bb.gguf");
    l.endpoint = {"modelscope", "https://www.modelscope.cn"};
    EXPECT_EQ(file_url(l, "x/y.gguf"), "https://www.modelscope.cn/api/v1/models/org/name/repo?Revision=abc&FilePath=x%2Fy.gguf");
}

TEST(Sha256, KnownDigest) {
    Sha256 h;
    h.update("abc", 3);
    EXPECT_EQ(h.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
