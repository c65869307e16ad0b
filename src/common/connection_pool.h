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
    // An idle socket the engine has not closed meanwhile, or -1 when there is none.
    int take();
    void give(int fd);  // closes it when the pool is full

private:
    size_t max_idle_;
    std::mutex mu_;
    std::vector<int> idle_;
};

}  // namespace xinfer
