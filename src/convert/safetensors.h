// Reads Hugging Face safetensors weights: a single `model.safetensors` or a sharded set named by
// `model.safetensors.index.json`. Each file is an 8-byte little-endian header length, a JSON
// header (name -> dtype, shape, data_offsets), then the raw tensor bytes.
#pragma once

#include <filesystem>

#include "convert/weights.h"

namespace xinfer {

// True when the folder holds safetensors weights (single or sharded).
bool has_safetensors(const std::filesystem::path& folder);

// Adds FOLDER/model.safetensors, or the shards its index names, to `set`.
void add_safetensors_folder(WeightSet& set, const std::filesystem::path& folder);

// Adds one .safetensors file to `set`.
void add_safetensors_file(WeightSet& set, const std::filesystem::path& file);

}  // namespace xinfer
