#include "cli/memory_estimate.h"

#include <algorithm>
#include <map>

#include "cli/api_client.h"
#include "supervisor/placement.h"

namespace xinfer::cli {

namespace {

// Bits per weight of llama.cpp's GGUF types, block scales included.
double bits_per_weight(std::string q) {
    std::transform(q.begin(), q.end(), q.begin(), ::toupper);
    static const std::map<std::string, double> bpw = {
        {"F32", 32}, {"F16", 16}, {"BF16", 16}, {"Q8_0", 8.5}, {"Q6_K", 6.56}, {"Q5_K_M", 5.69}, {"Q5_K_S", 5.54},
        {"Q5_0", 5.5}, {"Q5_1", 6}, {"Q4_K_M", 4.85}, {"Q4_K_S", 4.58}, {"Q4_0", 4.5}, {"Q4_1", 5}, {"IQ4_XS", 4.25},
        {"IQ4_NL", 4.5}, {"Q3_K_L", 4.27}, {"Q3_K_M", 3.91}, {"Q3_K_S", 3.5}, {"IQ3_M", 3.7}, {"IQ3_XS", 3.3},
        {"Q2_K", 2.63}, {"IQ2_M", 2.7}, {"IQ2_XS", 2.31}, {"IQ1_M", 1.75}, {"INT8", 8}, {"INT4", 4}, {"4-BIT", 4.5},
        {"8-BIT", 8.5}, {"AWQ", 4.25}, {"GPTQ", 4.25}, {"NONE", 16}};
    if (q.empty()) return 16;
    auto it = bpw.find(q);
    return it == bpw.end() ? 16 : it->second;
}

// The layer shape of a typical decoder of this size (Qwen2.5 / Llama 3 with grouped-query
// attention), for the KV cache: {layers, width, heads, kv heads}.
GgufInfo typical_shape(double billions) {
    GgufInfo g;
    struct Shape { double up_to; int layers, width, heads, kv_heads; };
    static const Shape shapes[] = {{1, 24, 896, 14, 2},      {2, 28, 1536, 12, 2},   {4.5, 36, 2048, 16, 2},
                                   {9.5, 32, 4096, 32, 8},   {16, 48, 5120, 40, 8},  {40, 64, 5120, 40, 8},
                                   {1e9, 80, 8192, 64, 8}};
    for (auto& s : shapes) {
        if (billions > s.up_to) continue;
        g.block_count = s.layers, g.embedding_length = s.width, g.head_count = s.heads, g.head_count_kv = s.kv_heads;
        break;
    }
    return g;
}

}  // namespace

MemoryEstimate estimate_model_memory(const std::string& size, const std::string& quantization, int context_length,
                                     int kv_cache_bits) {
    std::string s = size;
    std::replace(s.begin(), s.end(), '_', '.');
    MemoryEstimate out;
    try {
        size_t used = 0;
        out.billions = std::stod(s, &used);
        if (used != s.size() || out.billions <= 0) throw std::invalid_argument(s);
    } catch (const std::exception&) {
        throw CliError("cannot read the model size '" + size + "': give billions, e.g. 7, 1_5 or 1.5");
    }
    ResolvedModel model;
    model.type = ModelType::llm;
    model.gguf = typical_shape(out.billions);
    model.gguf.file_size = static_cast<uint64_t>(out.billions * 1e9 * bits_per_weight(quantization) / 8);
    MemoryNeed need = estimate_memory(model, context_length, 1, kv_cache_bits / 8.0);
    out.model_mb = need.weights >> 20;
    out.kv_cache_mb = need.kv_cache >> 20;
    out.overhead_mb = need.overhead >> 20;
    out.activation_mb = need.compute >> 20;
    return out;
}

}  // namespace xinfer::cli
