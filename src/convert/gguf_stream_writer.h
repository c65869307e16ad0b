// Writes a GGUF file one tensor at a time: the header (metadata and tensor table) first, then
// each tensor's data as its producer makes it, converted to the output type on every core. Only
// a slice of one tensor is in memory at a time, so converting a model needs far less memory than
// the model's size.
#pragma once

#include <ggml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

struct gguf_context;

namespace xinfer {

// Fills `rows` rows of a tensor (row = ne[0] values, in GGUF order), starting at row `first`,
// as f32 into `out`.
using RowProducer = std::function<void(int64_t first, int64_t rows, float* out)>;

struct OutputTensor {
    std::string name;
    std::vector<int64_t> ne;  // GGUF order: ne[0] is the row length (PyTorch's last dimension)
    ggml_type type = GGML_TYPE_F16;
    RowProducer produce;
    std::function<void()> written;  // optional: called once the tensor is in the file
    int64_t rows() const;
    int64_t row_length() const { return ne.empty() ? 1 : ne[0]; }
};

// Progress over all tensor bytes written, 0..1.
using WriteProgress = std::function<void(double)>;

class GgufStreamWriter {
public:
    // Takes ownership of the metadata context (keys already set).
    explicit GgufStreamWriter(gguf_context* meta);
    ~GgufStreamWriter();
    GgufStreamWriter(const GgufStreamWriter&) = delete;
    GgufStreamWriter& operator=(const GgufStreamWriter&) = delete;

    void add(OutputTensor t);
    // The file's header (metadata and tensor table) and its total size, known before any tensor
    // data is made: launch placement uses them to size a model before converting it.
    std::vector<uint8_t> header();
    uint64_t planned_bytes();
    // Writes the whole file to `path`; throws std::runtime_error on any failure (the caller
    // writes to a temporary name and renames, so a failed write leaves nothing behind).
    void write(const std::filesystem::path& path, const WriteProgress& progress = {}, int threads = 0);
    uint64_t bytes_written() const { return bytes_written_; }

private:
    void build_table();  // adds the tensors to the metadata's table, once
    gguf_context* meta_;
    std::vector<OutputTensor> tensors_;
    ggml_context* shapes_ = nullptr;  // the table's shape-only tensors
    uint64_t bytes_written_ = 0;
};

// The output type for a tensor of the requested file type: 1-D tensors stay f32; q8_0 needs rows
// that are a multiple of its block (32), otherwise f16.
ggml_type output_type_for(const std::string& outtype, const std::vector<int64_t>& ne);

}  // namespace xinfer
