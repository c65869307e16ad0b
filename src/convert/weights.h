// The weights of a Hugging Face folder, whatever file format holds them: safetensors (single or
// sharded) or PyTorch's pytorch_model.bin (single or sharded). Files are memory-mapped and each
// tensor points into its file, so a tensor is read only when the converter asks for it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace xinfer {

enum class SourceDtype { f32, f16, bf16, f64, i64, i32 };

size_t dtype_size(SourceDtype d);

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

class WeightSet {
public:
    // Opens the folder's weights: model.safetensors(.index.json) when present, else
    // pytorch_model.bin(.index.json). Throws std::runtime_error naming the file and the problem.
    static WeightSet open(const std::filesystem::path& folder);

    const std::map<std::string, SourceTensor>& tensors() const { return tensors_; }
    const SourceTensor* find(const std::string& name) const;

    // For the format readers: keep a mapped file alive as long as the set, and add a tensor
    // that points into one of the kept files.
    void keep(std::shared_ptr<MappedFile> file) { files_.push_back(std::move(file)); }
    void add(SourceTensor t) { tensors_[t.name] = std::move(t); }

private:
    std::vector<std::shared_ptr<MappedFile>> files_;
    std::map<std::string, SourceTensor> tensors_;
};

// True when the folder holds weights in a format WeightSet reads.
bool has_weights(const std::filesystem::path& folder);

// The shard file names a `*.index.json` (Hugging Face's sharded-weights index) maps tensors to,
// in first-seen order. Throws when the index is malformed or names a file outside the folder.
std::vector<std::string> shards_from_index(const std::filesystem::path& index);

// Drops the tensor's pages from this process's memory once it has been read (they stay in the
// page cache): converting a model then holds about one tensor at a time, not the whole file.
void release_pages(const SourceTensor& t);

// Converts `count` elements starting at element `first` of a tensor to f32.
void read_as_f32(const SourceTensor& t, int64_t first, int64_t count, float* out);

}  // namespace xinfer
