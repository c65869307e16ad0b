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
    std::vector<int> gpus;    // empty: CPU only
    uint64_t memory_mb = 0;   // estimated need (RAM, or VRAM per GPU when on GPUs)
};

// Memory a replica needs: weights + KV cache for its context + a working margin.
// decoding_slots: whisper's concurrency (one kept state each); other engines ignore it.
uint64_t estimate_memory_mb(const ResolvedModel& model, int n_ctx, int decoding_slots = 1);

class Placement {
public:
    // Reserves resources for replica `key`; throws ApiError 503 when they are not there.
    ReplicaPlan reserve(const std::string& key, const ResolvedModel& model, const LaunchRequest& request);
    void release(const std::string& key);
    nlohmann::json reservations() const;

private:
    mutable std::mutex mu_;
    std::map<std::string, ReplicaPlan> reserved_;
    std::map<std::string, std::string> owner_;  // key -> model uid, for messages
};

// The context a replica of this model runs with (engine option n_ctx, else the default).
int planned_context(const ResolvedModel& model, const LaunchRequest& request);

}  // namespace xinfer
