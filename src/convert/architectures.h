// The model architectures the converter knows: each maps a Hugging Face folder's config and
// weights onto the GGUF metadata and tensor names llama.cpp expects.
#pragma once

#include <string>
#include <vector>

#include "convert/gguf_stream_writer.h"
#include "convert/hf_folder.h"
#include "convert/weights.h"

namespace xinfer {

struct ConversionPlan {
    std::string gguf_architecture;  // general.architecture
    std::string kind;               // "embedding", "rerank", "LLM": what the model serves
};

struct Architecture {
    const char* name;                             // for messages
    bool (*matches)(const HfFolder&);
    // Sets metadata on `meta` (tokenizer included) and adds every output tensor to `out`.
    ConversionPlan (*plan)(const HfFolder&, const WeightSet&, gguf_context* meta, GgufStreamWriter& out,
                           const std::string& outtype);
};

const std::vector<Architecture>& architectures();

// The architecture for a folder; ConvertError listing the known ones when none matches.
const Architecture& architecture_for(const HfFolder& folder);

// Helpers shared by the architectures.
// A source tensor that must be there; ConvertError naming it (and the folder) when it is not.
const SourceTensor& require_tensor(const WeightSet& w, const std::string& name, const HfFolder& folder);
// Adds `src` under `name` unchanged in layout (PyTorch [rows, cols] -> GGUF ne {cols, rows}).
void add_copy(GgufStreamWriter& out, const std::string& name, const SourceTensor& src, const std::string& outtype,
              bool force_f32 = false);
// Adds rows [skip, skip+rows) of a 2-D source tensor.
void add_row_slice(GgufStreamWriter& out, const std::string& name, const SourceTensor& src, int64_t skip, int64_t rows,
                   const std::string& outtype, bool force_f32 = false);

}  // namespace xinfer
