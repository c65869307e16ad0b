// What this machine offers models: CPU cores, memory, GPUs. Read fresh on each call (memory
// changes as models load). Overrides make the GPU path testable without GPUs:
//   XINFER_CPU_CORES=N                  cores in the thread budget (default: cores we may run on)
//   XINFER_RAM_MB=N                     total memory (available is scaled down alike)
//   XINFER_SIMULATED_GPUS="0:NVIDIA H100:81559,1:NVIDIA H100:81559"   index:name:MiB, ...
// Without the override, NVIDIA GPUs are read from `nvidia-smi` when it is installed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xinfer {

struct GpuInfo {
    int index = 0;
    std::string name;
    uint64_t memory_total_mb = 0;
    uint64_t memory_used_mb = 0;
    bool simulated = false;
};

struct Inventory {
    int cpu_cores = 1;
    double cpu_quota_cores = 0;  // the cgroup's CPU quota in cores' worth of time (0: none; cpu_quota.h)
    uint64_t ram_total_mb = 0;
    uint64_t ram_available_mb = 0;
    std::vector<GpuInfo> gpus;
    nlohmann::json to_json() const;
};

Inventory read_inventory();

// Parses "index:name:MiB,..." (XINFER_SIMULATED_GPUS); throws std::invalid_argument.
std::vector<GpuInfo> parse_simulated_gpus(const std::string& spec);

}  // namespace xinfer
