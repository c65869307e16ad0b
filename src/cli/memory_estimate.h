// `cal-model-mem`: how much memory a model of a given size, quantization and context needs, by
// the same estimate placement uses before it starts a replica (weights + KV cache + buffers).
#pragma once

#include <cstdint>
#include <string>

namespace xinfer::cli {

struct MemoryEstimate {
    double billions = 0;
    uint64_t model_mb = 0, kv_cache_mb = 0, overhead_mb = 0, activation_mb = 0;
    uint64_t total_mb() const { return model_mb + kv_cache_mb + overhead_mb + activation_mb; }
};

// size: "7", "1_5" or "1.5" (billions); quantization: a GGUF type (Q4_K_M, Q8_0, F16, ...), empty
// for 16-bit weights; kv_cache_bits: 8, 16 or 32. Throws CliError on a size it cannot read.
MemoryEstimate estimate_model_memory(const std::string& size, const std::string& quantization, int context_length,
                                     int kv_cache_bits);

}  // namespace xinfer::cli
