// Placement: before a replica starts, decide its CPU threads and GPUs and check that its memory
// fits, so models side by side do not fight. CPU threads are a budget: llama.cpp and whisper
// busy-wait, so co-located replicas must never together ask for more threads than there are
// cores (oversubscription collapses everyone's speed). Refusals are 503s that give the numbers.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/model_resolver.h"
#include "supervisor/launch_request.h"
#include "worker/inventory.h"

namespace xinfer {

struct ReplicaPlan {
    int threads = 0;          // 0: the engine needs none reserved (single-threaded built-ins)
    // Threads beyond `threads` an embedding or rerank replica on the CPU may run on cycles no other
    // thread wants (its spare lane: llama_encoder.h): 1 where the budget has cores beyond the
    // replica's and no cgroup CPU quota would count those cycles against every engine.
    int spare_threads = 0;
    bool shared = false;      // the budget was spent: these threads share cores with other engines
    std::vector<int> gpus;    // empty: CPU only
    uint64_t memory_mb = 0;   // estimated need (RAM, or VRAM per GPU when on GPUs)
};

// Memory a replica needs, in bytes: weights, KV cache for its context (whisper: one decoding
// state per slot), the runtime's own buffers (a tenth of the weights) and compute scratch.
struct MemoryNeed {
    uint64_t weights = 0, kv_cache = 0, overhead = 0, compute = 0;
    uint64_t total() const { return weights + kv_cache + overhead + compute; }
};
// decoding_slots: whisper's concurrency (one kept state each); other engines ignore it.
// kv_bytes_per_value: 2 for the f16 cache llama.cpp keeps by default.
MemoryNeed estimate_memory(const ResolvedModel& model, int n_ctx, int decoding_slots = 1, double kv_bytes_per_value = 2);
uint64_t estimate_memory_mb(const ResolvedModel& model, int n_ctx, int decoding_slots = 1);

// What happens when co-located engines would together want more threads than there are cores.
//   shared (default): the replica still starts, with fewer threads, sharing cores. Idle engines
//     sleep, so a stack of models that are rarely busy at once (chat + embeddings + speech on a
//     small machine) all run; only an explicit n_threads that does not fit is refused.
//   strict: refuse (503) once every core is assigned, so busy engines never oversubscribe.
enum class CpuBudget { shared, strict };

class Placement {
public:
    explicit Placement(CpuBudget budget = CpuBudget::shared) : budget_(budget) {}
    // Reserves resources for replica `key`; throws ApiError 503 when they are not there.
    ReplicaPlan reserve(const std::string& key, const ResolvedModel& model, const LaunchRequest& request);
    void release(const std::string& key);
    nlohmann::json reservations() const;

private:
    CpuBudget budget_;
    mutable std::mutex mu_;
    std::map<std::string, ReplicaPlan> reserved_;
    std::map<std::string, std::string> owner_;  // key -> model uid, for messages
};

// The context a replica of this model runs with (engine option n_ctx, else the default).
int planned_context(const ResolvedModel& model, const LaunchRequest& request);
// True for llama.cpp's encoder-only architectures (BERT and kin), which keep no KV cache.
bool attends_without_cache(const std::string& architecture);

}  // namespace xinfer
