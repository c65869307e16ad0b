#include "convert/weights.h"

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

#include "convert/pytorch_bin.h"
#include "convert/safetensors.h"

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

WeightSet WeightSet::open(const fs::path& folder) {
    WeightSet set;
    if (has_safetensors(folder))
        add_safetensors_folder(set, folder);
    else if (has_pytorch_bin(folder))
        add_pytorch_bin_folder(set, folder);
    else
        throw std::runtime_error("no weights in " + folder.string() +
                                 " (model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json)");
    return set;
}

bool has_weights(const fs::path& folder) { return has_safetensors(folder) || has_pytorch_bin(folder); }

std::vector<std::string> shards_from_index(const fs::path& index) {
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
    for (auto& s : shards)
        if (!fs::exists(index.parent_path() / s))
            throw std::runtime_error("shard " + s + " named by " + index.string() + " is missing");
    return shards;
}

const SourceTensor* WeightSet::find(const std::string& name) const {
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
