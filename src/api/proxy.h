// Forwards an inference request to the replica a Lease holds and relays the answer: whole for
// plain requests, chunk by chunk for SSE streams (nothing buffered, so time-to-first-token is
// the engine's). Engine errors are reshaped into xinfer's error body with the engine's status.
#pragma once

#include <httplib.h>

#include <string>

#include "api/request_tracker.h"
#include "supervisor/supervisor.h"

namespace xinfer {

struct ProxyOptions {
    std::string path;       // engine path, e.g. "/v1/chat/completions"
    bool stream = false;    // relay the answer chunk by chunk (SSE, streamed audio)
    int read_timeout_s = 600;
    std::string content_type = "application/json";  // of the forwarded request body
    std::shared_ptr<InFlightRequest> tracked;        // set when the request carries an id (abortable)
};

struct EngineReply {
    std::string body;
    std::string content_type;
};

void proxy_request(Lease lease, const std::string& body, const ProxyOptions& opts, httplib::Response& res);

// Ends every stream being relayed at its next chunk, without its end (the service is stopping
// and draining is over): each relay runs its whole stream in one call, which httplib's stop
// would otherwise wait out.
void cut_relayed_streams();

// Posts a JSON body to the engine and returns its (2xx) JSON answer text; engine errors and
// unreachable engines throw ApiError, as proxy_request does.
// The tokens of the answer count against the caller's key (tokens per minute) unless
// `charge_caller` is false (a merged call whose parts are charged to each request's caller).
std::string post_to_engine(const Lease& lease, const std::string& path, const std::string& body,
                           int read_timeout_s = 600, bool charge_caller = true);
// The same for any body and answer type (multipart uploads, audio answers).
// With `tracked`, the call uses its own connection, which an abort shuts down (499).
EngineReply post_raw_to_engine(const Lease& lease, const std::string& path, const std::string& body,
                               const std::string& content_type, int read_timeout_s = 600,
                               InFlightRequest* tracked = nullptr, bool charge_caller = true);

}  // namespace xinfer
