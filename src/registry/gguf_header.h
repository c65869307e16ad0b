// A GGUF file's header read without loading it: every key's value (numbers, booleans, strings;
// arrays only by element type and length) and each tensor's element count. ggml's own reader
// (gguf_init_from_file) also builds every array element: a Qwen2-vocabulary file's 151k tokens and
// 151k merges as 300k strings, about 100 ms and 10 MB of allocations at each launch for the
// handful of numbers xinfer needs; this one steps over arrays in its read buffer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace xinfer {

struct GgufHeader {
    uint32_t version = 0;
    std::map<std::string, int64_t> integers;       // every integer key (a u64 above INT64_MAX clamps)
    std::map<std::string, bool> booleans;
    std::map<std::string, double> floats;          // f32 and f64 keys
    std::map<std::string, std::string> strings;    // string keys; a value over 1 MiB is kept empty
    std::map<std::string, uint64_t> array_lengths; // array keys: their element count
    uint64_t tensor_count = 0;
    uint64_t parameter_count = 0;                  // elements in all tensors (saturates)
};

// Throws std::runtime_error naming the file and what is wrong: not a GGUF, an unsupported
// version, or a header cut short or holding impossible sizes.
GgufHeader read_gguf_header(const std::filesystem::path& path);

}  // namespace xinfer
