// Dynamic batching for /v1/embeddings. Requests for the same model and encoding that arrive
// while the engine is busy with earlier ones wait together and go to the engine as one call;
// the answer is split back (embedding_split.h), each request with its own items and exact usage.
// No timer: a request that finds the engine idle goes at once, so one client sees no added
// latency, and under load each call carries everything that queued behind the last one.
//
// A merged call that the engine refuses as bad input (4xx) is retried request by request, so
// each gets the error (or answer) it would have got alone.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/call_merger.h"
#include "supervisor/supervisor.h"

namespace xinfer {

class EmbeddingBatcher {
public:
    EmbeddingBatcher();
    // `inputs`: the request's texts (a JSON array of strings); `original_body` what the client
    // sent (forwarded as is when the request goes alone). Returns the answer body. Throws
    // ApiError as the engine call would.
    std::string embed(const Lease& lease, const nlohmann::json& inputs, const std::string& encoding,
                      const std::string& original_body);

    // Largest merged call (inputs), and engine calls per model at once before requests queue.
    static constexpr size_t kMaxInputs = 64;
    static constexpr int kLlamaServerInFlight = 4, kModelHostInFlight = 16;
    // Engine calls per model at once before requests queue here to be merged:
    // XINFER_EMBED_MAX_IN_FLIGHT, else 4 for llama-server (its 4 slots) and 16 for the model host,
    // whose compute thread merges what reaches it (held back here, inputs would miss its runs).
    int max_in_flight = 0;

private:
    struct Member;
    static void run_batch(const Lease& lease, std::vector<Member*>& members);  // fills each member's answer or error
    CallMerger<Member> merger_;
};

}  // namespace xinfer
