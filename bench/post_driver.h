// A load generator that costs the machine little: one thread drives every client's connection
// with non-blocking sockets and epoll, as wrk or ab do. A thread per client with an HTTP client
// library costs ~130 µs of CPU a request on a 2-core VM, a third of what the servers under test
// spend; on a small machine that load generator takes the cores the servers compete for, and
// the figures compare the clients more than the servers.
#pragma once

#include <string>
#include <vector>

namespace bench {

// `clients` clients each POST their bodies (bodies[client][i], JSON) to `address`
// ("127.0.0.1:PORT") at `path`, one after the other: each request on a new connection
// ("Connection: close", as Python's requests.post), or all of a client's on one kept-alive
// connection (as the OpenAI SDK). Returns the seconds taken; any answer but 200 stops the
// benchmark (numbers would be lies).
double drive_posts(const std::string& address, const std::string& path, const std::vector<std::vector<std::string>>& bodies,
                   bool keep_alive);

}  // namespace bench
