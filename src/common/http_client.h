// HTTP clients for talking to engine replicas (unix socket or loopback TCP) and, from the CLI,
// to the xinfer REST API.
#pragma once

#include <httplib.h>

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

// Keep-alive clients to one address, reused across requests: saves a connect, an accept and a
// thread hand-off in the engine per request, which is a visible share of a short embedding call.
// httplib clients are not thread-safe, so each request takes one out and gives it back.
class ClientPool {
public:
    explicit ClientPool(std::string address, size_t max_idle = 32);
    std::unique_ptr<httplib::Client> take();
    void give(std::unique_ptr<httplib::Client> client);

private:
    std::string address_;
    size_t max_idle_;
    std::mutex mu_;
    std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace xinfer
