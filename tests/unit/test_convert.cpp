// The converter's parts on small files made here: safetensors parsing and its refusals, the
// streaming GGUF writer (read back through ggml's own reader), the output type rules and the
// cache key.
#include <ggml.h>
#include <gguf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/converter.h"
#include "convert/gguf_stream_writer.h"
#include "convert/hf_folder.h"
#include "convert/safetensors.h"
#include "convert/torch_pickle.h"

using namespace xinfer;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path scratch_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("xinfer-convert-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// One safetensors file holding an f32 tensor "a" [2,3] and a bf16 tensor "b" [4].
void write_safetensors(const fs::path& file, const std::string& header_override = "", size_t truncate_by = 0) {
    std::vector<float> a = {1, 2, 3, 4, 5, 6};
    std::vector<uint16_t> b = {0x3f80, 0x4000, 0xbf80, 0x0000};  // 1, 2, -1, 0 in bf16
    json h = {{"a", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}}},
              {"b", {{"dtype", "BF16"}, {"shape", {4}}, {"data_offsets", {24, 32}}}},
              {"__metadata__", {{"format", "pt"}}}};
    std::string hs = header_override.empty() ? h.dump() : header_override;
    uint64_t n = hs.size();
    std::string bytes(reinterpret_cast<char*>(&n), 8);
    bytes += hs;
    bytes.append(reinterpret_cast<char*>(a.data()), 24);
    bytes.append(reinterpret_cast<char*>(b.data()), 8);
    bytes.resize(bytes.size() - truncate_by);
    std::ofstream(file, std::ios::binary) << bytes;
}

}  // namespace

TEST(Safetensors, ReadsTensorsAndConvertsDtypes) {
    fs::path d = scratch_dir("read");
    write_safetensors(d / "model.safetensors");
    WeightSet set = WeightSet::open(d);
    ASSERT_EQ(set.tensors().size(), 2u);
    const SourceTensor* a = set.find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
    float row[3];
    read_as_f32(*a, 3, 3, row);  // the second row
    EXPECT_EQ(row[0], 4);
    EXPECT_EQ(row[2], 6);
    float b[4];
    read_as_f32(*set.find("b"), 0, 4, b);
    EXPECT_EQ(b[0], 1);
    EXPECT_EQ(b[1], 2);
    EXPECT_EQ(b[2], -1);
    EXPECT_EQ(b[3], 0);
    fs::remove_all(d);
}

TEST(Safetensors, RefusesBrokenFilesWithTheReason) {
    fs::path d = scratch_dir("broken");
    write_safetensors(d / "model.safetensors", "", 4);  // data cut short
    try {
        WeightSet::open(d);
        FAIL() << "a truncated file was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("tensor b"), std::string::npos) << e.what();
    }
    write_safetensors(d / "model.safetensors", R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})");
    EXPECT_THROW(WeightSet::open(d), std::runtime_error);  // 20 bytes cannot hold 6 floats
    write_safetensors(d / "model.safetensors", R"({"a": {"dtype": "I8", "shape": [1], "data_offsets": [0, 1]}})");
    try {
        WeightSet::open(d);
        FAIL() << "an unsupported dtype was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("dtype I8"), std::string::npos) << e.what();
    }
    std::ofstream(d / "model.safetensors.index.json") << R"({"weight_map": {"a": "../elsewhere.safetensors"}})";
    EXPECT_THROW(WeightSet::open(d), std::runtime_error);  // shards stay inside the folder
    fs::remove_all(d);
}

TEST(GgufStreamWriter, WritesWhatGgmlReadsBack) {
    fs::path d = scratch_dir("writer");
    gguf_context* meta = gguf_init_empty();
    gguf_set_val_str(meta, "general.architecture", "test");
    GgufStreamWriter w(meta);
    const int64_t cols = 64, rows = 5;
    auto value = [](int64_t r, int64_t c) { return static_cast<float>(r) - static_cast<float>(c) / 64.0f; };
    for (ggml_type type : {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0}) {
        OutputTensor t;
        t.name = std::string("t.") + ggml_type_name(type);
        t.ne = {cols, rows};
        t.type = type;
        t.produce = [&](int64_t first, int64_t n, float* out) {
            for (int64_t r = 0; r < n; ++r)
                for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = value(first + r, c);
        };
        w.add(std::move(t));
    }
    const uint64_t planned = w.planned_bytes();
    w.write(d / "out.gguf", {}, 3);
    EXPECT_EQ(fs::file_size(d / "out.gguf"), planned);

    ggml_context* data = nullptr;
    gguf_init_params p{false, &data};
    gguf_context* in = gguf_init_from_file((d / "out.gguf").c_str(), p);
    ASSERT_NE(in, nullptr);
    EXPECT_EQ(std::string(gguf_get_val_str(in, gguf_find_key(in, "general.architecture"))), "test");
    for (ggml_type type : {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0}) {
        ggml_tensor* t = ggml_get_tensor(data, (std::string("t.") + ggml_type_name(type)).c_str());
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->type, type);
        std::vector<float> back(cols * rows);
        if (type == GGML_TYPE_F32) std::memcpy(back.data(), t->data, back.size() * 4);
        else ggml_get_type_traits(type)->to_float(t->data, back.data(), cols * rows);
        const float tolerance = type == GGML_TYPE_F32 ? 0 : type == GGML_TYPE_F16 ? 2e-3f : 0.03f;
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
                ASSERT_NEAR(back[r * cols + c], value(r, c), tolerance) << ggml_type_name(type) << " row " << r << " col " << c;
    }
    gguf_free(in);
    ggml_free(data);
    fs::remove_all(d);
}

TEST(GgufStreamWriter, OutputTypes) {
    EXPECT_EQ(output_type_for("q8_0", {64}), GGML_TYPE_F32);       // vectors stay f32
    EXPECT_EQ(output_type_for("q8_0", {64, 8}), GGML_TYPE_Q8_0);
    EXPECT_EQ(output_type_for("q8_0", {48, 8}), GGML_TYPE_F16);    // rows not a multiple of 32
    EXPECT_EQ(output_type_for("f16", {64, 8}), GGML_TYPE_F16);
    EXPECT_EQ(output_type_for("f32", {64, 8}), GGML_TYPE_F32);
}

TEST(HfFolder, DigestFollowsTheSourceFiles) {
    fs::path d = scratch_dir("digest");
    std::ofstream(d / "config.json") << R"({"architectures": ["BertModel"]})";
    write_safetensors(d / "model.safetensors");
    EXPECT_TRUE(looks_like_hf_folder(d));
    const std::string first = source_digest(d);
    EXPECT_EQ(source_digest(d), first);
    fs::last_write_time(d / "model.safetensors", fs::last_write_time(d / "model.safetensors") + std::chrono::seconds(5));
    EXPECT_NE(source_digest(d), first);
    EXPECT_EQ(read_hf_folder(d).architecture, "BertModel");
    std::ofstream(d / "config.json") << "{not json";
    EXPECT_THROW(read_hf_folder(d), ConvertError);
    fs::remove(d / "model.safetensors");
    EXPECT_FALSE(looks_like_hf_folder(d));
    fs::remove_all(d);
}

// A pickle written by hand, opcode by opcode, as torch.save writes a one-tensor state dict:
// OrderedDict({"w": _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 6), 2, (2, 2), (2, 1), False,
// OrderedDict())}) followed by a BUILD of the dict's (empty) attributes.
template <size_t N>
std::string bytes_of(const char (&s)[N]) { return std::string(s, N - 1); }

TEST(TorchPickle, ReadsTensorRecordsAndRefusesEverythingElse) {
    const std::string pkl = bytes_of(
        "\x80\x02" "ccollections\nOrderedDict\n)R"
        "X\x01\x00\x00\x00w"
        "ctorch._utils\n_rebuild_tensor_v2\n("
        "(X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0" "X\x03\x00\x00\x00" "cpu" "K\x06tQ"
        "K\x02" "K\x02K\x02\x86" "K\x02K\x01\x86" "\x89" "ccollections\nOrderedDict\n)R" "tR"
        "s}b.");
    auto records = read_torch_state_dict(reinterpret_cast<const uint8_t*>(pkl.data()), pkl.size(), "t");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].name, "w");
    EXPECT_EQ(records[0].storage_type, "FloatStorage");
    EXPECT_EQ(records[0].storage_key, "0");
    EXPECT_EQ(records[0].offset, 2);
    EXPECT_EQ(records[0].shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(records[0].stride, (std::vector<int64_t>{2, 1}));

    const std::string evil = bytes_of("\x80\x02" "cposix\nsystem\nX\x02\x00\x00\x00idtR.");
    try {
        read_torch_state_dict(reinterpret_cast<const uint8_t*>(evil.data()), evil.size(), "t");
        FAIL() << "os.system was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("refers to posix.system"), std::string::npos) << e.what();
    }
    for (size_t cut = 1; cut < pkl.size(); ++cut)  // every truncation is an error, never a crash
        EXPECT_THROW(read_torch_state_dict(reinterpret_cast<const uint8_t*>(pkl.data()), cut, "t"), std::runtime_error) << cut;
}

namespace {

// A complete, tiny BERT folder (zeros for weights): config.json, vocab.txt, model.safetensors.
void write_tiny_bert(const fs::path& d) {
    fs::create_directories(d);
    const int64_t H = 8, F = 16, V = 6, P = 8;
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
        {"embeddings.word_embeddings.weight", {V, H}}, {"embeddings.position_embeddings.weight", {P, H}},
        {"embeddings.token_type_embeddings.weight", {2, H}}, {"embeddings.LayerNorm.weight", {H}}, {"embeddings.LayerNorm.bias", {H}}};
    const std::string l = "encoder.layer.0.";
    for (auto m : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
        shapes.push_back({l + m + ".weight", {H, H}});
        shapes.push_back({l + m + ".bias", {H}});
    }
    for (auto m : {"attention.output.LayerNorm", "output.LayerNorm"}) {
        shapes.push_back({l + m + ".weight", {H}});
        shapes.push_back({l + m + ".bias", {H}});
    }
    shapes.push_back({l + "intermediate.dense.weight", {F, H}});
    shapes.push_back({l + "intermediate.dense.bias", {F}});
    shapes.push_back({l + "output.dense.weight", {H, F}});
    shapes.push_back({l + "output.dense.bias", {H}});
    json header = json::object();
    uint64_t offset = 0;
    for (auto& [name, shape] : shapes) {
        uint64_t n = 4;
        for (int64_t s : shape) n *= s;
        header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + n}}};
        offset += n;
    }
    const std::string hs = header.dump();
    const uint64_t len = hs.size();
    std::string bytes(reinterpret_cast<const char*>(&len), 8);
    bytes += hs + std::string(offset, '\0');
    std::ofstream(d / "model.safetensors", std::ios::binary) << bytes;
    std::ofstream(d / "vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n";
    std::ofstream(d / "config.json") << json{{"architectures", {"BertModel"}}, {"model_type", "bert"}, {"hidden_size", H},
                                             {"num_hidden_layers", 1}, {"num_attention_heads", 2}, {"intermediate_size", F},
                                             {"max_position_embeddings", P}, {"type_vocab_size", 2}, {"vocab_size", V}}
                                                .dump();
}

}  // namespace

// What the supervisor does on cancel or terminate: its progress callback throws, and the
// conversion stops there, leaving neither the target nor a partial file.
TEST(Converter, StoppedMidwayLeavesNothing) {
    fs::path d = scratch_dir("cancel");
    write_tiny_bert(d / "src");
    const fs::path target = d / "cache" / "model-f16.gguf";
    int calls = 0;
    EXPECT_THROW(converted_into(d / "src", target, ConvertOptions{}, [&](double, const std::string&) {
        if (++calls == 2) throw std::runtime_error("conversion cancelled");
    }), std::runtime_error);
    EXPECT_EQ(calls, 2);
    EXPECT_FALSE(fs::exists(target));
    EXPECT_FALSE(fs::exists(target.string() + ".incomplete"));
    // The same folder converts when nothing stops it: the stop above was the only reason.
    EXPECT_NO_THROW(converted_into(d / "src", target, ConvertOptions{}, {}));
    EXPECT_TRUE(fs::exists(target));
    fs::remove_all(d);
}
