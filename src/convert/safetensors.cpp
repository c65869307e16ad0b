#include "convert/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

SourceDtype parse_dtype(const std::string& s, const fs::path& file, const std::string& name) {
    if (s == "F32") return SourceDtype::f32;
    if (s == "F16") return SourceDtype::f16;
    if (s == "BF16") return SourceDtype::bf16;
    if (s == "F64") return SourceDtype::f64;
    if (s == "I64") return SourceDtype::i64;
    if (s == "I32") return SourceDtype::i32;
    throw std::runtime_error(file.string() + ": tensor " + name + " has dtype " + s +
                             ", which xinfer cannot convert (F32, F16, BF16 weights are supported)");
}

}  // namespace

void add_safetensors_file(WeightSet& set, const fs::path& file) {
    auto mapped = std::make_shared<MappedFile>(file);
    if (mapped->size() < 8) throw std::runtime_error(file.string() + ": too short to be a safetensors file");
    uint64_t header_len = 0;
    std::memcpy(&header_len, mapped->data(), 8);  // little-endian, as is every machine xinfer runs on
    if (header_len > mapped->size() - 8 || header_len > (100u << 20))
        throw std::runtime_error(file.string() + ": safetensors header length " + std::to_string(header_len) +
                                 " does not fit the file (truncated or not safetensors)");
    json header;
    try {
        header = json::parse(reinterpret_cast<const char*>(mapped->data()) + 8,
                             reinterpret_cast<const char*>(mapped->data()) + 8 + header_len);
    } catch (const std::exception& e) {
        throw std::runtime_error(file.string() + ": safetensors header is not JSON: " + e.what());
    }
    if (!header.is_object()) throw std::runtime_error(file.string() + ": safetensors header is not a JSON object");
    const uint8_t* base = mapped->data() + 8 + header_len;
    const size_t data_size = mapped->size() - 8 - header_len;
    for (auto& [name, info] : header.items()) {
        if (name == "__metadata__") continue;
        SourceTensor t;
        t.name = name;
        try {
            t.dtype = parse_dtype(info.at("dtype").get<std::string>(), file, name);
            t.shape = info.at("shape").get<std::vector<int64_t>>();
            auto off = info.at("data_offsets").get<std::vector<uint64_t>>();
            if (off.size() != 2 || off[0] > off[1] || off[1] > data_size)
                throw std::runtime_error("data_offsets outside the file");
            t.data = base + off[0];
            t.bytes = off[1] - off[0];
        } catch (const nlohmann::json::exception& e) {
            throw std::runtime_error(file.string() + ": tensor " + name + " has a malformed entry: " + e.what());
        } catch (const std::runtime_error& e) {
            if (std::string(e.what()).find(file.string()) == 0) throw;
            throw std::runtime_error(file.string() + ": tensor " + name + ": " + e.what());
        }
        for (int64_t d : t.shape)
            if (d < 0) throw std::runtime_error(file.string() + ": tensor " + name + " has a negative dimension");
        if (static_cast<size_t>(t.elements()) * dtype_size(t.dtype) != t.bytes)
            throw std::runtime_error(file.string() + ": tensor " + name + " has " + std::to_string(t.bytes) +
                                     " bytes, not what its shape and dtype need");
        set.add(std::move(t));
    }
    set.keep(std::move(mapped));
}

void add_safetensors_folder(WeightSet& set, const fs::path& folder) {
    const fs::path index = folder / "model.safetensors.index.json";
    if (fs::exists(index)) {
        for (auto& s : shards_from_index(index)) add_safetensors_file(set, folder / s);
        return;
    }
    if (fs::exists(folder / "model.safetensors")) {
        add_safetensors_file(set, folder / "model.safetensors");
        return;
    }
    throw std::runtime_error(folder.string() + " has no model.safetensors or model.safetensors.index.json");
}

bool has_safetensors(const fs::path& folder) {
    return fs::exists(folder / "model.safetensors") || fs::exists(folder / "model.safetensors.index.json");
}

}  // namespace xinfer
