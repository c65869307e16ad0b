#include "api/caller.h"

#include "common/errors.h"

namespace xinfer {

namespace {
thread_local Caller this_request;
}

void set_caller(Caller caller) { this_request = std::move(caller); }
const Caller& current_caller() { return this_request; }

void check_model_allowed(const std::string& model) {
    const auto& who = this_request.who;
    if (who && !who->may_use_model(model))
        throw ApiError(403, "The API key " + who->key->hint + " of user '" + who->user + "' may not use model '" + model + "'",
                       "permission_error");
}

Lease acquire_for_caller(Supervisor& supervisor, const std::string& model, Capability need) {
    check_model_allowed(model);
    return supervisor.acquire(model, need);
}

void charge_caller_tokens(uint64_t tokens) {
    const auto& who = this_request.who;
    if (tokens && who && who->key && who->key->tpm > 0 && this_request.limiter)
        this_request.limiter->charge_tokens(who->key->id, tokens);
}

}  // namespace xinfer
