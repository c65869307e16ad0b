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
    bool done = false;
    bool alone = false;  // the merged call was refused: send this request by itself
    std::string answer;
    long long tokens = 0;
    std::optional<ApiError> error;
};

struct EmbeddingBatcher::Batch {
    std::vector<Member*> members;
    size_t inputs = 0;
    bool taken = false;  // its leader is sending it: no more members
    std::condition_variable answered;  // its members wait here (only they are woken)
};

struct EmbeddingBatcher::Group {
    std::mutex mu;
    std::condition_variable room;  // leaders wait here for an engine call to end
    int in_flight = 0;             // engine calls under way
    int limit = 4;                 // engine calls at once
    std::shared_ptr<Batch> open;  // the batch new requests join
};

EmbeddingBatcher::EmbeddingBatcher() {
    if (const std::string v = env_or("XINFER_EMBED_MAX_IN_FLIGHT"); !v.empty()) max_in_flight = std::max(1, std::atoi(v.c_str()));
}

std::shared_ptr<EmbeddingBatcher::Group> EmbeddingBatcher::group(const std::string& key, int limit) {
    std::lock_guard lock(mu_);
    auto& g = groups_[key];
    if (!g) {
        g = std::make_shared<Group>();
        g->limit = limit;
    }
    return g;
}

void EmbeddingBatcher::run_batch(const Lease& lease, Batch& b) {
    if (b.members.size() == 1) {  // alone: the client's bytes, as they came
        Member& m = *b.members[0];
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
    for (Member* m : b.members) {
        for (auto& text : *m->inputs) merged_inputs.push_back(text);
        counts.push_back(m->inputs->size());
    }
    const json first = json::parse(*b.members[0]->original_body);
    json merged = {{"model", first["model"]}, {"input", std::move(merged_inputs)}, {"xinfer_tokens_per_item", true}};
    if (first.contains("encoding_format")) merged["encoding_format"] = first["encoding_format"];
    try {
        const std::string answer = post_to_engine(lease, "/v1/embeddings", merged.dump(), 600, false);
        auto parts = split_embedding_answer(answer, counts, first["model"].dump());
        lease.model().stats.merged_calls++;
        lease.model().stats.merged_requests += b.members.size();
        for (size_t k = 0; k < b.members.size(); ++k) {
            b.members[k]->answer = std::move(parts[k].body);
            b.members[k]->tokens = parts[k].tokens;
        }
    } catch (const ApiError& e) {
        // Bad input in one request fails the merged call: each request goes alone instead.
        for (Member* m : b.members) e.status() < 500 ? void(m->alone = true) : void(m->error = e);
    } catch (const std::exception&) {
        for (Member* m : b.members) m->alone = true;  // an answer we could not split: no batching for these
    }
}

std::string EmbeddingBatcher::embed(const Lease& lease, const json& inputs, const std::string& encoding,
                                    const std::string& original_body) {
    // The model's engine (a relaunch under the same uid may change it) sets the calls at once.
    const bool host = runs_in_encoder_host(lease.model().model, lease.model().request.engine_options);
    const int limit = max_in_flight > 0 ? max_in_flight : host ? kModelHostInFlight : kLlamaServerInFlight;
    auto gp = group(lease.model().uid + "\n" + encoding + (host ? "\nhost" : ""), limit);
    Group& g = *gp;
    Member me;
    me.inputs = &inputs;
    me.original_body = &original_body;
    std::unique_lock lock(g.mu);
    // Join the open batch, or open one (and lead it).
    std::shared_ptr<Batch> batch = g.open;
    if (!batch || batch->taken || batch->inputs + inputs.size() > kMaxInputs) {
        batch = std::make_shared<Batch>();
        g.open = batch;
    }
    batch->members.push_back(&me);
    batch->inputs += inputs.size();
    const bool leader = batch->members.size() == 1;
    if (leader) {
        // Wait for room at the engine; whoever joins meanwhile rides along.
        g.room.wait(lock, [&] { return g.in_flight < g.limit; });
        batch->taken = true;
        if (g.open == batch) g.open.reset();
        ++g.in_flight;
        lock.unlock();
        run_batch(lease, *batch);
        lock.lock();
        for (Member* m : batch->members) m->done = true;
        --g.in_flight;
        batch->answered.notify_all();
        g.room.notify_one();
    } else {
        batch->answered.wait(lock, [&] { return me.done; });
    }
    lock.unlock();
    if (me.alone) return post_to_engine(lease, "/v1/embeddings", original_body);
    if (me.error) throw *me.error;
    charge_caller_tokens(static_cast<uint64_t>(me.tokens));
    return std::move(me.answer);
}

}  // namespace xinfer
