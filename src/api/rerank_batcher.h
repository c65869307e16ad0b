// Dynamic batching for /v1/rerank on the model host (engine llama-rerank): requests for the same
// model that arrive while the engine is busy go to it as one call of several queries (the host's
// "xinfer_queries"), whose pairs its compute threads take together, and each request gets its
// own results and usage back. The host's HTTP side costs about a third of a small reranker's
// compute for each call (reading, parsing, answering, two thread wake-ups); merged, a call pays
// it once for all its requests: 12-19 % more pairs a second at 64 clients. At 8 clients it gains
// nothing: every request is already in the host's queue there, where its lanes take them as they
// come. llama-server's /v1/rerank takes one query a call: not merged.
//
// A merged call that the engine refuses as bad input (4xx) is retried request by request, so
// each gets the error (or answer) it would have got alone.
#pragma once

#include <nlohmann/json.hpp>

#include "api/call_merger.h"
#include "supervisor/supervisor.h"

namespace xinfer {

class RerankBatcher {
public:
    RerankBatcher();
    // `query`: {"query", "documents", "top_n"?} as the engine takes it. Returns the engine's
    // answer to it ({"results": [{index, relevance_score}], "usage"}). Throws ApiError as the
    // engine call would.
    nlohmann::json rerank(const Lease& lease, const nlohmann::json& query);

    // Documents of one merged call at most; a request with more goes alone.
    static constexpr size_t kMaxDocuments = 64;
    // Calls per model at once before requests queue here to be merged: XINFER_RERANK_MAX_IN_FLIGHT,
    // else kInFlight. Enough to keep the host's compute threads fed while answers travel back
    // (at 2, 8 clients left both cores idle 20 % of the time); 64 clients get 12-19 % more pairs
    // a second than unmerged (bench_embeddings, BENCH_PATH=2), 8 clients about the same.
    static constexpr int kInFlight = 4;
    int max_in_flight = kInFlight;

private:
    struct Member;
    static void run_batch(const Lease& lease, std::vector<Member*>& members);  // fills each member's answer or error
    CallMerger<Member> merger_;
};

}  // namespace xinfer
