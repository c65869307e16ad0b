#include "api/embedding_batcher.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "api/caller.h"
#include "api/embedding_split.h"
#include "api/proxy.h"
#include "common/errors.h"
#include "common/paths.h"
#include "engines/speech/host_command.h"

namespace xinfer {

using json = nlohmann::json;

struct EmbeddingBatcher::Member {
    const json* inputs = nullptr;
    const std::string* original_body = nullptr;
    bool alone = false;  // the merged call was refused: send this request by itself
    std::string answer;
    long long tokens = 0;
    std::optional<ApiError> error;
};

EmbeddingBatcher::EmbeddingBatcher() {
    if (const std::string v = env_or("XINFER_EMBED_MAX_IN_FLIGHT"); !v.empty()) max_in_flight = std::max(1, std::atoi(v.c_str()));
}

void EmbeddingBatcher::run_batch(const Lease& lease, std::vector<Member*>& members) {
    if (members.size() == 1) {  // alone: the client's bytes, as they came
        Member& m = *members[0];
        try {
            m.answer = post_to_engine(lease, "/v1/embeddings", *m.original_body);
        } catch (const ApiError& e) {
            m.error = e;
        } catch (const std::exception& e) {
            m.error = internal_error(std::string("embedding call failed: ") + e.what());
        }
        return;
    }
    json merged_inputs = json::array();
    std::vector<size_t> counts;
    for (Member* m : members) {
        for (auto& text : *m->inputs) merged_inputs.push_back(text);
        counts.push_back(m->inputs->size());
    }
    const json first = json::parse(*members[0]->original_body);
    json merged = {{"model", first["model"]}, {"input", std::move(merged_inputs)}, {"xinfer_tokens_per_item", true}};
    if (first.contains("encoding_format")) merged["encoding_format"] = first["encoding_format"];
    try {
        const std::string answer = post_to_engine(lease, "/v1/embeddings", merged.dump(), 600, false);
        auto parts = split_embedding_answer(answer, counts, first["model"].dump());
        lease.model().stats.merged_calls++;
        lease.model().stats.merged_requests += members.size();
        for (size_t k = 0; k < members.size(); ++k) {
            members[k]->answer = std::move(parts[k].body);
            members[k]->tokens = parts[k].tokens;
        }
    } catch (...) {
        settle_failed_call(members, lease.model().stats.merged_calls_refused);
    }
}

std::string EmbeddingBatcher::embed(const Lease& lease, const json& inputs, const std::string& encoding,
                                    const std::string& original_body) {
    // The model's engine (a relaunch under the same uid may change it) sets the calls at once.
    const bool host = runs_in_encoder_host(lease.model().model, lease.model().request.engine_options);
    const int limit = max_in_flight > 0 ? max_in_flight : host ? kModelHostInFlight : kLlamaServerInFlight;
    Member me;
    me.inputs = &inputs;
    me.original_body = &original_body;
    // Each replica its own calls in flight; a request rides only in a call to the replica it leased.
    merger_.join(lease.model().uid + "\n" + lease.address() + "\n" + encoding + (host ? "\nhost" : ""), limit, kMaxInputs, me, inputs.size(),
                  [&lease](std::vector<Member*>& members) { run_batch(lease, members); });
    if (me.alone) return post_to_engine(lease, "/v1/embeddings", original_body);
    if (me.error) throw *me.error;
    charge_caller_tokens(static_cast<uint64_t>(me.tokens));
    return std::move(me.answer);
}

}  // namespace xinfer
