#include "api/rerank_batcher.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "api/caller.h"
#include "api/proxy.h"
#include "common/errors.h"
#include "common/paths.h"

namespace xinfer {

using json = nlohmann::json;

struct RerankBatcher::Member {
    const json* query = nullptr;
    bool alone = false;  // the merged call was refused: send this request by itself
    json answer;
    std::optional<ApiError> error;
};

RerankBatcher::RerankBatcher() {
    if (const std::string v = env_or("XINFER_RERANK_MAX_IN_FLIGHT"); !v.empty()) max_in_flight = std::max(1, std::atoi(v.c_str()));
}

namespace {

json parse_answer(const std::string& body) {
    json answer = json::parse(body, nullptr, false);
    if (!answer.is_object()) throw internal_error("the engine gave an unreadable rerank answer");
    return answer;
}

}  // namespace

void RerankBatcher::run_batch(const Lease& lease, std::vector<Member*>& members) {
    if (members.size() == 1) {
        Member& m = *members[0];
        try {
            m.answer = parse_answer(post_to_engine(lease, "/v1/rerank", m.query->dump(), 600, false));
        } catch (const ApiError& e) {
            m.error = e;
        } catch (const std::exception& e) {
            m.error = internal_error(std::string("rerank call failed: ") + e.what());
        }
        return;
    }
    json queries = json::array();
    for (Member* m : members) queries.push_back(*m->query);
    try {
        json answer = parse_answer(post_to_engine(lease, "/v1/rerank", json{{"xinfer_queries", std::move(queries)}}.dump(), 600, false));
        json& answers = answer["xinfer_answers"];
        if (!answers.is_array() || answers.size() != members.size()) throw std::runtime_error("answers do not match the queries");
        lease.model().stats.merged_calls++;
        lease.model().stats.merged_requests += members.size();
        for (size_t k = 0; k < members.size(); ++k) members[k]->answer = std::move(answers[k]);
    } catch (...) {
        settle_failed_call(members, lease.model().stats.merged_calls_refused);
    }
}

json RerankBatcher::rerank(const Lease& lease, const json& query) {
    Member me;
    me.query = &query;
    const size_t documents = query["documents"].size();
    // Each replica its own calls in flight; a request rides only in a call to the replica it leased.
    merger_.join(lease.model().uid + "\n" + lease.address(), max_in_flight, kMaxDocuments, me, documents,
                 [&lease](std::vector<Member*>& members) { run_batch(lease, members); });
    if (me.alone) me.answer = parse_answer(post_to_engine(lease, "/v1/rerank", query.dump(), 600, false));
    else if (me.error) throw *me.error;
    if (const auto usage = me.answer.find("usage"); usage != me.answer.end() && usage->is_object()) {
        const auto total = usage->find("total_tokens");
        if (total != usage->end() && total->is_number_unsigned()) charge_caller_tokens(total->get<uint64_t>());
    }
    return std::move(me.answer);
}

}  // namespace xinfer
