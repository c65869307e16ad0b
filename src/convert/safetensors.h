// Reads Hugging Face safetensors weights without loading them: a single `model.safetensors` or a
// sharded set named by `model.safetensors.index.json`. Each file is an 8-byte little-endian header
// length, a JSON header (name -> dtype, shape, data_offsets), then the raw tensor bytes; the files
// are memory-mapped, so a tensor is read only when the converter asks for it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace xinfer {

enum class SourceDtype { f32, f16, bf16, f64, i64, i32 };

struct SourceTensor {
    std::string name;
    SourceDtype dtype = SourceDtype::f32;
    std::vector<int64_t> shape;  // outermost first, as PyTorch writes it
    const uint8_t* data = nullptr;
    size_t bytes = 0;
    int64_t elements() const;
};

// One mapped file; unmapped when the last reference goes.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

class SafetensorsSet {
public:
    // Opens FOLDER/model.safetensors or the shards its index names. Throws std::runtime_error
    // naming the file and the problem (missing shard, bad header, offsets past the end).
    static SafetensorsSet open(const std::filesystem::path& folder);
    // Opens one .safetensors file.
    static SafetensorsSet open_file(const std::filesystem::path& file);

    const std::map<std::string, SourceTensor>& tensors() const { return tensors_; }
    const SourceTensor* find(const std::string& name) const;

private:
    void add_file(const std::filesystem::path& file);
    std::vector<std::shared_ptr<MappedFile>> files_;
    std::map<std::string, SourceTensor> tensors_;
};

// True when the folder holds safetensors weights (single or sharded).
bool has_safetensors(const std::filesystem::path& folder);

// Drops the tensor's pages from this process's memory once it has been read (they stay in the
// page cache): converting a model then holds about one tensor at a time, not the whole file.
void release_pages(const SourceTensor& t);

// Converts `count` elements starting at element `first` of a tensor to f32.
void read_as_f32(const SourceTensor& t, int64_t first, int64_t count, float* out);

}  // namespace xinfer
