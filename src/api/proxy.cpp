#include "api/proxy.h"

#include "api/caller.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http_util.h"
#include "common/engine_stream.h"
#include "common/http_client.h"
#include "common/latency_slice.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

std::atomic<bool> streams_cut{false};

// llama-server's errors look like {"error":{"code","message","type"}}; keep its status and
// message, and answer in xinfer's shape (which adds `detail` for Xinference clients).
ApiError engine_error(int status, const std::string& body, const std::string& uid) {
    json j = json::parse(body, nullptr, false);
    std::string message, type;
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
        message = j["error"].value("message", "");
        type = j["error"].value("type", "");
    }
    if (message.empty()) message = body.empty() ? "engine error" : body.substr(0, 500);
    // llama-server reports over-long inputs as server errors; for the client it is bad input.
    if (status == 500 && (message.find("too large to process") != std::string::npos ||
                          message.find("larger than the max context size") != std::string::npos ||
                          message.find("exceeds the available context size") != std::string::npos)) {
        return ApiError(400, "Input is longer than the model's context: " + message + " (model " + uid + ")", "",
                        "input", "context_length_exceeded");
    }
    if (status == 503 && type == "unavailable_error") type = "";
    return ApiError(status, message + " (model " + uid + ")", type == "server_error" && status < 500 ? "" : type);
}

ApiError engine_unreachable(const std::string& uid, const std::string& why) {
    return ApiError(503, "The engine of model '" + uid + "' did not answer (" + why +
                             "); it may have stopped. See GET /v1/models/" + uid, "", "", "engine_unreachable");
}
ApiError engine_unreachable(const std::string& uid, httplib::Error err) { return engine_unreachable(uid, httplib::to_string(err)); }

ApiError aborted_error(const InFlightRequest& r) {
    return ApiError(499, "Request " + r.id() + " was aborted", "", "request_id", "request_aborted");
}

// Lets an abort reach the engine connection of this client: the socket is recorded as it opens.
void track_socket(httplib::Client& client, InFlightRequest* tracked) {
    if (!tracked) return;
    client.set_socket_options([tracked](socket_t sock) {
        httplib::default_socket_options(sock);
        tracked->attach_socket(sock);
    });
}

// Forgets the engine socket of a tracked request before that socket is closed.
struct SocketRelease {
    explicit SocketRelease(std::shared_ptr<InFlightRequest> r) : tracked(std::move(r)) {}
    SocketRelease(SocketRelease&&) = default;
    ~SocketRelease() {
        if (tracked) tracked->detach_socket();
    }
    std::shared_ptr<InFlightRequest> tracked;
};

// The relay's time slice until a stream's first token (LatencySlice), in µs:
// XINFER_RELAY_SLICE_US, 100 unless set (the kernel's shortest); 0 leaves the default.
long relay_slice_us() {
    static const long us = [] {
        const char* v = std::getenv("XINFER_RELAY_SLICE_US");
        return v && *v ? std::max(0L, std::atol(v)) : 100L;
    }();
    return us;
}

struct StreamState {
    Lease lease;
    std::unique_ptr<EngineStream> engine;
    std::string uid;
    std::chrono::steady_clock::time_point began;
    bool first_seen = false;
    bool sse = false;          // token events are counted in event streams only (not streamed audio)
    std::string partial_line;  // an SSE line cut by a read boundary
    std::unique_ptr<LatencySlice> slice;  // the relay's short slice, until the first token
    SocketRelease release;  // last: destroyed first, while the handle's socket is still open
};

// Counts the generated tokens in relayed SSE bytes: llama-server sends one token per event, as
// a `data: {…}` line whose delta (chat) or `content` (completion) text is not empty.
uint64_t count_token_events(StreamState& st, const char* data, size_t n) {
    uint64_t tokens = 0;
    st.partial_line.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = st.partial_line.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string_view line(st.partial_line.data() + start, nl - start);
        if (line.rfind("data: {", 0) != 0) continue;
        const size_t at = line.find("\"content\":\"");
        if (at != std::string_view::npos && at + 11 < line.size() && line[at + 11] != '"') ++tokens;
    }
    st.partial_line.erase(0, start);
    if (st.partial_line.size() > (64u << 10)) st.partial_line.clear();  // no event line is this long: stay bounded
    return tokens;
}

// A number field of a whole (non-streamed) answer's usage block; 0 when it has none.
uint64_t usage_count(const std::string& body, const std::string& field) {
    const size_t at = body.find("\"" + field + "\":");
    return at == std::string::npos ? 0 : std::strtoull(body.c_str() + at + field.size() + 3, nullptr, 10);
}

}  // namespace

EngineReply post_raw_to_engine(const Lease& lease, const std::string& path, const std::string& body,
                               const std::string& content_type, int read_timeout_s, InFlightRequest* tracked,
                               bool charge_caller) {
    if (tracked) {
        // Its own connection, so that shutting it down touches no other request.
        auto client = make_client(lease.address());
        client->set_read_timeout(read_timeout_s, 0);
        client->set_write_timeout(60, 0);
        track_socket(*client, tracked);
        auto r = client->Post(path, body, content_type);
        tracked->detach_socket();
        if (tracked->aborted()) throw aborted_error(*tracked);
        if (!r) throw engine_unreachable(lease.model().uid, r.error());
        if (r->status >= 400) throw engine_error(r->status, r->body, lease.model().uid);
        if (charge_caller) charge_caller_tokens(usage_count(r->body, "total_tokens"));
        return {std::move(r->body), r->get_header_value("Content-Type", "application/json")};
    }
    EngineStream::Request request{lease.address(), "POST", path, body, content_type, read_timeout_s, 60, {}, &lease.replica().connections()};
    EngineStream engine(request);
    if (!engine.ok() && engine.status() == 0) throw engine_unreachable(lease.model().uid, engine.error());
    std::string answer;
    char buf[16384];
    ssize_t n;
    while ((n = engine.read(buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
    if (n < 0) throw engine_unreachable(lease.model().uid, engine.error());
    if (engine.status() >= 400) throw engine_error(engine.status(), answer, lease.model().uid);
    if (charge_caller) charge_caller_tokens(usage_count(answer, "total_tokens"));
    std::string type = engine.header("Content-Type");
    return {std::move(answer), type.empty() ? "application/json" : type};
}

std::string post_to_engine(const Lease& lease, const std::string& path, const std::string& body, int read_timeout_s,
                           bool charge_caller) {
    return post_raw_to_engine(lease, path, body, "application/json", read_timeout_s, nullptr, charge_caller).body;
}

void proxy_request(Lease lease, const std::string& body, const ProxyOptions& opts, httplib::Response& res) {
    auto& stats = lease.model().stats;
    if (!opts.stream) {
        EngineReply reply =
            post_raw_to_engine(lease, opts.path, body, opts.content_type, opts.read_timeout_s, opts.tracked.get());
        stats.requests++;
        if (reply.content_type.find("json") != std::string::npos) stats.generated_tokens += usage_count(reply.body, "completion_tokens");
        res.set_content(std::move(reply.body), reply.content_type);
        return;
    }
    const auto began = std::chrono::steady_clock::now();
    const std::string uid = lease.model().uid;
    // Until the first token is relayed, this thread gets a short time slice: it wakes for the
    // engine's answer while the engine computes on every core, and would otherwise wait for one.
    auto slice = relay_slice_us() > 0 ? std::make_unique<LatencySlice>(relay_slice_us() * 1000) : nullptr;
    EngineStream::Request request{lease.address(), "POST", opts.path, body, opts.content_type, opts.read_timeout_s, 60, {}};
    if (InFlightRequest* tracked = opts.tracked.get()) request.on_socket = [tracked](int fd) { tracked->attach_socket(fd); };
    auto engine = std::make_unique<EngineStream>(request);
    if (opts.tracked && opts.tracked->aborted()) {
        opts.tracked->detach_socket();
        throw aborted_error(*opts.tracked);
    }
    if (!engine->ok() && engine->status() == 0) {
        if (opts.tracked) opts.tracked->detach_socket();
        throw engine_unreachable(uid, engine->error());
    }
    if (engine->status() >= 400) {
        std::string err_body;
        char buf[4096];
        for (ssize_t n; (n = engine->read(buf, sizeof buf)) > 0;) err_body.append(buf, static_cast<size_t>(n));
        if (opts.tracked) opts.tracked->detach_socket();
        throw engine_error(engine->status(), err_body, uid);
    }
    auto st = std::make_shared<StreamState>(
        StreamState{std::move(lease), std::move(engine), uid, began, false, false, {}, std::move(slice), SocketRelease(opts.tracked)});
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    std::string type = st->engine->header("Content-Type");
    if (type.empty()) type = "text/event-stream";
    st->sse = type.find("text/event-stream") != std::string::npos;
    // One call relays the whole stream: httplib checks the client socket twice (writable, still
    // open) before each call to the provider, two system calls per token on top of the read and
    // the write; a client that went away fails the next write instead.
    res.set_chunked_content_provider(type, [st](size_t, httplib::DataSink& sink) {
        char buf[16384];
        auto& stats = st->lease.model().stats;
        ssize_t n;
        while ((n = st->engine->read(buf, sizeof buf)) > 0) {
            if (streams_cut.load(std::memory_order_relaxed)) return false;  // closed without its end
            if (!st->first_seen) {
                st->first_seen = true;
                stats.first_token_us_sum += std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - st->began).count();
                stats.first_token_count++;
            }
            uint64_t tokens = 0;
            if (st->sse) {
                tokens = count_token_events(*st, buf, static_cast<size_t>(n));
                stats.generated_tokens += tokens;
                charge_caller_tokens(tokens);
            }
            if (!sink.write(buf, static_cast<size_t>(n))) return false;
            // The first token is out: later ones keep the default slice, so that a relay's wake-up
            // does not preempt the engine's computation for every token of every stream.
            if (st->slice && (tokens > 0 || !st->sse)) st->slice.reset();
        }
        stats.requests++;
        if (st->release.tracked && st->release.tracked->aborted()) {
            // Aborted: the engine connection is shut down (the engine stops generating); the
            // client learns why in-band, as Xinference ends an aborted stream.
            std::string event = "data: " + aborted_error(*st->release.tracked).to_json().dump() + "\n\n";
            sink.write(event.data(), event.size());
        } else if (n < 0) {
            // The engine went away mid-stream: tell the client in-band, then end the stream.
            json err = ApiError(503, "The engine of model '" + st->uid + "' stopped while streaming").to_json();
            std::string event = "data: " + err.dump() + "\n\n";
            sink.write(event.data(), event.size());
        }
        sink.done();
        return true;
    });
}

void cut_relayed_streams() { streams_cut = true; }

}  // namespace xinfer
