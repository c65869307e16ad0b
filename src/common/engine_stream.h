// A streamed HTTP/1.1 request to an engine (llama-server or xinfer's model host), for relaying
// its answer chunk by chunk. httplib's streaming client sends the request line, the headers and
// the body in three writes, each after a poll (three wake-ups of the engine's reader per chat
// request, under a busy engine each a wait for a core), and polls before every read, once per
// relayed token. This one writes the whole request at once and reads with plain blocking
// receives (the read timeout is the socket's), decoding chunked transfer encoding; only the wait
// for the answer's first bytes is a poll (see read_head).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>

namespace xinfer {

class ConnectionPool;

class EngineStream {
public:
    struct Request {
        std::string address;  // "/path/x.sock" (unix socket) or "host:port"
        std::string method = "POST";
        std::string path;
        std::string body;
        std::string content_type = "application/json";
        int read_timeout_s = 600;
        int write_timeout_s = 60;
        // Called with the socket once it is connected, before anything is sent (an abort may
        // shut it down from another thread; it stays open until this object is destroyed).
        std::function<void(int fd)> on_socket;
        // Keep-alive: a connection is taken from here (or made) and given back once the answer
        // has been read whole. Without a pool each request has its own connection.
        ConnectionPool* pool = nullptr;
    };

    // Connects, sends the request and reads the answer's status line and headers. Never
    // throws for network trouble: check ok() and error().
    explicit EngineStream(const Request& request);
    ~EngineStream();
    EngineStream(const EngineStream&) = delete;
    EngineStream& operator=(const EngineStream&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }  // why there is no answer (or it broke off)
    int status() const { return status_; }
    std::string header(const std::string& name) const;  // "" when absent (case-insensitive name)

    // Body bytes as they arrive (chunk framing removed): > 0 bytes, 0 at the body's end,
    // -1 when the connection failed or timed out first (error() says which). Blocks only when
    // nothing is buffered.
    ssize_t read(char* buf, size_t len);

private:
    bool exchange(const Request& request);  // sends the request on fd_, reads the answer's head
    bool reusable() const;                  // the answer was read whole: the connection may serve again
    // One receive into the buffer; false at end of stream or on error. `poll_first`: wait for
    // data in poll (see read_head), else in the receive itself (one system call a relayed token).
    bool fill(bool poll_first = false);
    bool read_head();

    int fd_ = -1;
    int read_timeout_s_ = 600;
    int rcvtimeo_s_ = -1, sndtimeo_s_ = -1;  // the socket's timeouts as last set (-1: not known)
    ConnectionPool* pool_ = nullptr;
    std::string error_;
    int status_ = 0;
    std::string head_;  // the raw header block, for header()
    std::string buf_;   // received, not yet consumed
    size_t at_ = 0;     // consumed prefix of buf_
    bool chunked_ = false;
    long long left_ = -1;  // bytes left in the current chunk, or of a Content-Length body; -1 unknown
    bool done_ = false;
    bool closed_unanswered_ = false;  // the engine closed the connection before any byte of an answer
};

}  // namespace xinfer
