#include "worker/inventory.h"

#include <sched.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/paths.h"
#include "worker/cpu_quota.h"

namespace xinfer {

nlohmann::json Inventory::to_json() const {
    nlohmann::json g = nlohmann::json::array();
    for (auto& x : gpus)
        g.push_back({{"index", x.index}, {"name", x.name}, {"memory_total_mb", x.memory_total_mb},
                     {"memory_used_mb", x.memory_used_mb}, {"memory_free_mb", x.memory_total_mb - x.memory_used_mb},
                     {"simulated", x.simulated}});
    return {{"cpu_cores", cpu_cores}, {"ram_total_mb", ram_total_mb}, {"ram_available_mb", ram_available_mb}, {"gpus", g}};
}

std::vector<GpuInfo> parse_simulated_gpus(const std::string& spec) {
    std::vector<GpuInfo> out;
    std::stringstream ss(spec);
    for (std::string item; std::getline(ss, item, ',');) {
        auto a = item.find(':'), b = item.rfind(':');
        if (a == std::string::npos || a == b) throw std::invalid_argument("bad GPU entry '" + item + "' (index:name:MiB)");
        GpuInfo g;
        g.index = std::stoi(item.substr(0, a));
        g.name = item.substr(a + 1, b - a - 1);
        g.memory_total_mb = std::stoull(item.substr(b + 1));
        g.simulated = true;
        out.push_back(g);
    }
    return out;
}

namespace {
std::vector<GpuInfo> nvidia_gpus() {
    std::vector<GpuInfo> out;
    FILE* p = popen("nvidia-smi --query-gpu=index,name,memory.total,memory.used --format=csv,noheader,nounits 2>/dev/null", "r");
    if (!p) return out;
    char line[512];
    while (std::fgets(line, sizeof line, p)) {
        std::stringstream ss(line);
        std::string idx, name, total, used;
        if (!std::getline(ss, idx, ',') || !std::getline(ss, name, ',') || !std::getline(ss, total, ',') ||
            !std::getline(ss, used, ','))
            continue;
        try {
            GpuInfo g;
            g.index = std::stoi(idx);
            g.name = name.substr(name.find_first_not_of(' '));
            g.memory_total_mb = std::stoull(total);
            g.memory_used_mb = std::stoull(used);
            out.push_back(g);
        } catch (...) {
        }
    }
    pclose(p);
    return out;
}

uint64_t meminfo_mb(const std::string& key) {
    std::ifstream in("/proc/meminfo");
    std::string k;
    uint64_t kb = 0;
    std::string unit;
    while (in >> k >> kb >> unit)
        if (k == key + ":") return kb / 1024;
    return 0;
}
}  // namespace

Inventory read_inventory() {
    Inventory inv;
    cpu_set_t set;
    inv.cpu_cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                                : static_cast<int>(std::thread::hardware_concurrency());
    if (auto c = env_or("XINFER_CPU_CORES"); !c.empty()) inv.cpu_cores = std::max(1, std::stoi(c));
    inv.cpu_quota_cores = cgroup_cpu_quota();
    inv.ram_total_mb = meminfo_mb("MemTotal");
    inv.ram_available_mb = meminfo_mb("MemAvailable");
    if (auto r = env_or("XINFER_RAM_MB"); !r.empty() && inv.ram_total_mb > 0) {
        uint64_t total = std::stoull(r);
        inv.ram_available_mb = inv.ram_available_mb * total / inv.ram_total_mb;
        inv.ram_total_mb = total;
    }
    if (auto g = env_or("XINFER_SIMULATED_GPUS"); !g.empty()) inv.gpus = parse_simulated_gpus(g);
    else inv.gpus = nvidia_gpus();
    return inv;
}

}  // namespace xinfer
