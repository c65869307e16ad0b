// xinfer's GGUF header reader against ggml's own (gguf_init_from_file) on every test model, and
// on files cut short or holding impossible sizes.
#include <gtest/gtest.h>

#include <ggml.h>
#include <gguf.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <tuple>
#include <fstream>

#include "registry/gguf_header.h"
#include "registry/gguf_info.h"

using namespace xinfer;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> test_models() {
    std::vector<fs::path> out;
    for (auto& e : fs::recursive_directory_iterator(XINFER_TEST_MODELS))
        if (e.path().extension() == ".gguf") out.push_back(e.path());
    return out;
}

// Bytes of a GGUF file written by hand: header, then whatever the test appends.
struct Bytes {
    std::string b;
    template <typename T>
    Bytes& put(T v) {
        b.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    Bytes& str(const std::string& s) {
        put<uint64_t>(s.size());
        b += s;
        return *this;
    }
};

fs::path write_file(const std::string& bytes) {
    static int n = 0;
    fs::path p = fs::temp_directory_path() / ("xinfer-gguf-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".gguf");
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

std::string read_error(const std::string& bytes) {
    const fs::path p = write_file(bytes);
    std::string what;
    try {
        read_gguf_header(p);
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    fs::remove(p);
    return what;
}

}  // namespace

TEST(GgufHeader, ReadsWhatGgmlReadsOnEveryTestModel) {
    const auto models = test_models();
    ASSERT_GE(models.size(), 5u);
    for (const fs::path& path : models) {
        SCOPED_TRACE(path.string());
        const GgufHeader h = read_gguf_header(path);
        gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
        gguf_context* ctx = gguf_init_from_file(path.c_str(), params);
        ASSERT_NE(ctx, nullptr);
        EXPECT_EQ(h.version, gguf_get_version(ctx));
        size_t seen = 0;
        for (int64_t k = 0; k < gguf_get_n_kv(ctx); ++k) {
            const std::string key = gguf_get_key(ctx, k);
            switch (gguf_get_kv_type(ctx, k)) {
                case GGUF_TYPE_STRING: EXPECT_EQ(h.strings.at(key), gguf_get_val_str(ctx, k)) << key; break;
                case GGUF_TYPE_ARRAY: EXPECT_EQ(h.array_lengths.at(key), gguf_get_arr_n(ctx, k)) << key; break;
                case GGUF_TYPE_BOOL: EXPECT_EQ(h.booleans.at(key), gguf_get_val_bool(ctx, k)) << key; break;
                case GGUF_TYPE_UINT32: EXPECT_EQ(h.integers.at(key), gguf_get_val_u32(ctx, k)) << key; break;
                case GGUF_TYPE_INT32: EXPECT_EQ(h.integers.at(key), gguf_get_val_i32(ctx, k)) << key; break;
                case GGUF_TYPE_UINT64: EXPECT_EQ(h.integers.at(key), static_cast<int64_t>(gguf_get_val_u64(ctx, k))) << key; break;
                case GGUF_TYPE_FLOAT32: EXPECT_EQ(h.floats.at(key), gguf_get_val_f32(ctx, k)) << key; break;
                case GGUF_TYPE_UINT8: EXPECT_EQ(h.integers.at(key), gguf_get_val_u8(ctx, k)) << key; break;
                case GGUF_TYPE_INT8: EXPECT_EQ(h.integers.at(key), gguf_get_val_i8(ctx, k)) << key; break;
                case GGUF_TYPE_UINT16: EXPECT_EQ(h.integers.at(key), gguf_get_val_u16(ctx, k)) << key; break;
                case GGUF_TYPE_INT16: EXPECT_EQ(h.integers.at(key), gguf_get_val_i16(ctx, k)) << key; break;
                case GGUF_TYPE_INT64: EXPECT_EQ(h.integers.at(key), gguf_get_val_i64(ctx, k)) << key; break;
                case GGUF_TYPE_FLOAT64: EXPECT_EQ(h.floats.at(key), gguf_get_val_f64(ctx, k)) << key; break;
                default: ADD_FAILURE() << key << " of a type the test does not know"; break;
            }
            ++seen;
        }
        EXPECT_EQ(seen, h.integers.size() + h.booleans.size() + h.floats.size() + h.strings.size() + h.array_lengths.size());
        uint64_t elements = 0;
        for (int64_t t = 0; t < gguf_get_n_tensors(ctx); ++t) {
            const ggml_type type = gguf_get_tensor_type(ctx, t);
            elements += gguf_get_tensor_size(ctx, t) / ggml_type_size(type) * ggml_blck_size(type);
        }
        EXPECT_EQ(h.tensor_count, static_cast<uint64_t>(gguf_get_n_tensors(ctx)));
        EXPECT_EQ(h.parameter_count, elements);
        gguf_free(ctx);
    }
    // What the gateway reads of the chat model: its vocabulary's length without its tokens.
    const GgufInfo chat = read_gguf_info(fs::path(XINFER_TEST_MODELS) / "tiny-chat.gguf");
    EXPECT_GT(chat.vocab_size, 100000);
    EXPECT_TRUE(chat.has_chat_template);
}

TEST(GgufHeader, RefusesFilesCutShortOrHoldingImpossibleSizes) {
    Bytes head;
    head.b = "GGUF";
    head.put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(2);
    Bytes good = head;
    good.str("general.architecture").put<uint32_t>(8).str("llama");
    good.str("tokenizer.ggml.tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2).str("a").str("bc");
    const fs::path p = write_file(good.b);
    const GgufHeader h = read_gguf_header(p);
    fs::remove(p);
    EXPECT_EQ(h.strings.at("general.architecture"), "llama");
    EXPECT_EQ(h.array_lengths.at("tokenizer.ggml.tokens"), 2u);

    // Every cut of a valid header is an error, never a crash or a partial answer.
    for (size_t cut = 0; cut < good.b.size(); ++cut) EXPECT_NE(read_error(good.b.substr(0, cut)), "") << "cut at " << cut;

    EXPECT_NE(read_error(Bytes{"GGUF"}.put<uint32_t>(1).put<uint64_t>(0).put<uint64_t>(0).b).find("unsupported GGUF version 1"),
              std::string::npos);
    // Counts far beyond the file: refused before anything is allocated or looped over.
    EXPECT_NE(read_error(Bytes{"GGUF"}.put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(UINT64_MAX / 2).b).find("more keys"),
              std::string::npos);
    Bytes huge = head;
    huge.str("tokenizer.ggml.tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(UINT64_MAX / 4);
    EXPECT_NE(read_error(huge.b).find("longer than the file"), std::string::npos);
    Bytes long_string = head;
    long_string.str("general.name").put<uint32_t>(8).put<uint64_t>(UINT64_MAX);
    EXPECT_NE(read_error(long_string.b).find("longer than the file"), std::string::npos);
    Bytes nested;
    nested.b = "GGUF";
    nested.put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1).str("x").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1);
    EXPECT_NE(read_error(nested.b).find("unknown type"), std::string::npos);
    // A tensor with five dimensions, or of a type ggml does not know.
    Bytes tensor;
    tensor.b = "GGUF";
    tensor.put<uint32_t>(3).put<uint64_t>(1).put<uint64_t>(0).str("w").put<uint32_t>(5);
    tensor.b.append(64, '\0');
    EXPECT_NE(read_error(tensor.b).find("5 dimensions"), std::string::npos);
    // What ggml refuses beyond sizes: a key twice, an alignment not a power of two, a tensor name
    // twice, a first dimension not in whole blocks (Q8_0: 32), data not where the last tensor ends.
    Bytes twice;
    twice.b = "GGUF";
    twice.put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(2).str("a").put<uint32_t>(4).put<uint32_t>(1).str("a").put<uint32_t>(4).put<uint32_t>(2);
    EXPECT_NE(read_error(twice.b).find("key 'a' twice"), std::string::npos);
    Bytes align;
    align.b = "GGUF";
    align.put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
    EXPECT_NE(read_error(align.b).find("power of two"), std::string::npos);
    auto tensors = [](std::initializer_list<std::tuple<const char*, int64_t, uint32_t, uint64_t>> list) {
        Bytes b;
        b.b = "GGUF";
        b.put<uint32_t>(3).put<uint64_t>(list.size()).put<uint64_t>(0);
        for (auto& [name, n, type, offset] : list) b.str(name).put<uint32_t>(1).put<int64_t>(n).put<uint32_t>(type).put<uint64_t>(offset);
        b.b.append(64, '\0');
        return b.b;
    };
    EXPECT_EQ(read_error(tensors({{"a", 8, GGML_TYPE_F32, 0}, {"b", 64, GGML_TYPE_Q8_0, 32}})), "");
    EXPECT_NE(read_error(tensors({{"a", 8, GGML_TYPE_F32, 0}, {"a", 8, GGML_TYPE_F32, 32}})).find("given twice"), std::string::npos);
    EXPECT_NE(read_error(tensors({{"a", 40, GGML_TYPE_Q8_0, 0}})).find("whole blocks"), std::string::npos);
    EXPECT_NE(read_error(tensors({{"a", 8, GGML_TYPE_F32, 0}, {"b", 8, GGML_TYPE_F32, 64}})).find("previous one ends"), std::string::npos);
    Bytes type;
    type.b = "GGUF";
    type.put<uint32_t>(3).put<uint64_t>(1).put<uint64_t>(0).str("w").put<uint32_t>(1).put<int64_t>(4).put<uint32_t>(GGML_TYPE_COUNT).put<uint64_t>(0);
    type.b.append(16, '\0');
    EXPECT_NE(read_error(type.b).find("unknown type"), std::string::npos);
}

// Xinference reports strict_system_first for a chat template that refuses a system message
// anywhere but first (Qwen3-style guard); xinfer reads it from the GGUF's template.
TEST(GgufInfo, ChatTemplateThatWantsTheSystemMessageFirst) {
    auto with_template = [](const char* tmpl) {
        gguf_context* ctx = gguf_init_empty();
        gguf_set_val_str(ctx, "general.architecture", "qwen3");
        if (tmpl) gguf_set_val_str(ctx, "tokenizer.chat_template", tmpl);
        static int n = 0;
        const fs::path p = fs::temp_directory_path() / ("xinfer-template-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".gguf");
        EXPECT_TRUE(gguf_write_to_file(ctx, p.c_str(), true));
        gguf_free(ctx);
        const GgufInfo info = read_gguf_info(p);
        fs::remove(p);
        return std::make_pair(info.has_chat_template, info.chat_template_system_first);
    };
    EXPECT_EQ(with_template("{%- if loop.index0 > 0 and message.role == 'system' %}{{- raise_exception('System message must be at the "
                            "beginning.') }}{%- endif %}"),
              std::make_pair(true, true));
    EXPECT_EQ(with_template("{%- if message.role == 'system' %}<|im_start|>system{%- endif %}"), std::make_pair(true, false));
    EXPECT_EQ(with_template(nullptr), std::make_pair(false, false));
}
