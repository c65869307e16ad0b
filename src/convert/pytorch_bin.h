// Reads PyTorch weights as Hugging Face saves them: `pytorch_model.bin`, or the shards named by
// `pytorch_model.bin.index.json`. Each file is a zip (torch.save's format since PyTorch 1.6):
// `<archive>/data.pkl` pickles the state dict, `<archive>/data/<key>` holds each storage's raw
// bytes. The pickle is read by a restricted unpickler (see torch_pickle.h); tensors point into
// the mapped zip, like safetensors ones.
#pragma once

#include <filesystem>

#include "convert/weights.h"

namespace xinfer {

bool has_pytorch_bin(const std::filesystem::path& folder);

void add_pytorch_bin_folder(WeightSet& set, const std::filesystem::path& folder);

void add_pytorch_bin_file(WeightSet& set, const std::filesystem::path& file);

}  // namespace xinfer
