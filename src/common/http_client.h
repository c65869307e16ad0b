// HTTP clients for talking to engine replicas (unix socket or loopback TCP) and, from the CLI,
// to the xinfer REST API.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>
#include <string>

namespace xinfer {

// address: "/path/to/x.sock" (unix socket) or "host:port" or "http://host:port[/]".
std::unique_ptr<httplib::Client> make_client(const std::string& address);

// A loopback TCP port that was free a moment ago (the kernel's pick), for a child process to
// listen on; 0 when none could be had.
int free_loopback_port();

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
