// Who is calling, for the length of one request: set by the authentication check that runs
// before routing, read by the routes (which models the caller's key may use) and by the proxy
// (tokens charged to the key's per-minute limit). httplib runs a request's routing, handler and
// streamed answer on one thread, and the check replaces the caller at the start of each request,
// so the caller is kept per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "auth/authenticator.h"
#include "auth/rate_limit.h"
#include "supervisor/supervisor.h"

namespace xinfer {

struct Caller {
    std::optional<Principal> who;    // none when authentication is off
    RateLimiter* limiter = nullptr;  // where the caller's key is charged
};

void set_caller(Caller caller);
const Caller& current_caller();

// 403 when the caller's key is limited to other models.
void check_model_allowed(const std::string& model);
// The lease for an inference request, after check_model_allowed.
Lease acquire_for_caller(Supervisor& supervisor, const std::string& model, Capability need);
// Tokens an answer to the caller read and wrote, for its key's tokens-per-minute limit.
void charge_caller_tokens(uint64_t tokens);

}  // namespace xinfer
