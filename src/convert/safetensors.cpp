#include "convert/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include <ggml.h>

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

int64_t SourceTensor::elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

MappedFile::MappedFile(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot stat " + path.string());
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
        void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            throw std::runtime_error("cannot map " + path.string() + ": " + std::strerror(errno));
        }
        data_ = static_cast<const uint8_t*>(p);
        // Tensors are read once, front to back.
        madvise(const_cast<uint8_t*>(data_), size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

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

size_t dtype_size(SourceDtype d) {
    switch (d) {
        case SourceDtype::f16:
        case SourceDtype::bf16: return 2;
        case SourceDtype::f32:
        case SourceDtype::i32: return 4;
        case SourceDtype::f64:
        case SourceDtype::i64: return 8;
    }
    return 4;
}

}  // namespace

void SafetensorsSet::add_file(const fs::path& file) {
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
        tensors_[name] = t;
    }
    files_.push_back(std::move(mapped));
}

SafetensorsSet SafetensorsSet::open_file(const fs::path& file) {
    SafetensorsSet set;
    set.add_file(file);
    return set;
}

SafetensorsSet SafetensorsSet::open(const fs::path& folder) {
    SafetensorsSet set;
    const fs::path index = folder / "model.safetensors.index.json";
    if (fs::exists(index)) {
        json j;
        try {
            j = json::parse(std::ifstream(index));
        } catch (const std::exception& e) {
            throw std::runtime_error(index.string() + " is not valid JSON: " + e.what());
        }
        std::vector<std::string> shards;
        const json weight_map = j.value("weight_map", json::object());  // kept: items() would dangle on a temporary
        if (!weight_map.is_object()) throw std::runtime_error(index.string() + " has no weight_map object");
        for (auto& [tensor, shard] : weight_map.items()) {
            if (!shard.is_string()) throw std::runtime_error(index.string() + " maps " + tensor + " to no file name");
            std::string s = shard.get<std::string>();
            if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
                throw std::runtime_error(index.string() + " names a shard outside the folder: " + s);
            if (std::find(shards.begin(), shards.end(), s) == shards.end()) shards.push_back(s);
        }
        if (shards.empty()) throw std::runtime_error(index.string() + " has no weight_map");
        for (auto& s : shards) {
            if (!fs::exists(folder / s)) throw std::runtime_error("shard " + s + " named by " + index.string() + " is missing");
            set.add_file(folder / s);
        }
        return set;
    }
    if (fs::exists(folder / "model.safetensors")) {
        set.add_file(folder / "model.safetensors");
        return set;
    }
    throw std::runtime_error(folder.string() + " has no model.safetensors or model.safetensors.index.json");
}

bool has_safetensors(const fs::path& folder) {
    return fs::exists(folder / "model.safetensors") || fs::exists(folder / "model.safetensors.index.json");
}

const SourceTensor* SafetensorsSet::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

void release_pages(const SourceTensor& t) {
    const long page = sysconf(_SC_PAGESIZE);
    auto begin = reinterpret_cast<uintptr_t>(t.data) / page * page;
    auto end = reinterpret_cast<uintptr_t>(t.data + t.bytes);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void read_as_f32(const SourceTensor& t, int64_t first, int64_t count, float* out) {
    switch (t.dtype) {
        case SourceDtype::f32: std::memcpy(out, t.data + first * 4, count * 4); return;
        case SourceDtype::f16: {
            auto* in = reinterpret_cast<const ggml_fp16_t*>(t.data) + first;
            ggml_fp16_to_fp32_row(in, out, count);
            return;
        }
        case SourceDtype::bf16: {
            auto* in = reinterpret_cast<const uint16_t*>(t.data) + first;
            for (int64_t i = 0; i < count; ++i) {
                uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
                std::memcpy(&out[i], &bits, 4);
            }
            return;
        }
        case SourceDtype::f64: {
            auto* in = reinterpret_cast<const double*>(t.data) + first;
            for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i]);
            return;
        }
        case SourceDtype::i64: {
            auto* in = reinterpret_cast<const int64_t*>(t.data) + first;
            for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i]);
            return;
        }
        case SourceDtype::i32: {
            auto* in = reinterpret_cast<const int32_t*>(t.data) + first;
            for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i]);
            return;
        }
    }
}

}  // namespace xinfer
