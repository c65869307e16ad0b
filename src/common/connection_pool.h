// Kept-open sockets to one engine, shared by the requests that go to it (see EngineStream).
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace xinfer {

// Idle keep-alive connections (sockets) to one engine, reused across requests: saves a connect,
// an accept and a thread hand-off in the engine per request, a visible share of a short
// embedding call. EngineStream takes one out for a request and gives it back once the answer
// has been read whole.
class ConnectionPool {
public:
    explicit ConnectionPool(size_t max_idle = 32) : max_idle_(max_idle) {}
    ~ConnectionPool();
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;
    // An idle socket with the timeouts last set on it: a request that wants the same ones
    // spares two system calls (a short embedding call makes a dozen in all).
    struct Socket {
        int fd = -1;
        int read_timeout_s = -1;  // -1: not known
        int write_timeout_s = -1;
    };
    // An idle socket the engine has not closed meanwhile, or fd -1 when there is none.
    Socket take();
    void give(const Socket& socket);  // closes it when the pool is full

private:
    size_t max_idle_;
    std::mutex mu_;
    std::vector<Socket> idle_;
};

}  // namespace xinfer
