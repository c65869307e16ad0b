#include "post_driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

namespace {

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "benchmark: %s\n", why.c_str());
    std::exit(1);
}

struct Client {
    const std::vector<std::string>* bodies = nullptr;
    size_t next = 0;  // the body to send next
    int fd = -1;
    std::string out;  // the request under way
    size_t sent = 0;
    std::string in;  // its answer so far
};

// A header's value in a raw header block ("" when absent).
std::string header(const std::string& head, const char* name) {
    const size_t n = std::strlen(name);
    for (size_t at = head.find("\r\n"); at != std::string::npos && at + 2 < head.size(); at = head.find("\r\n", at + 2))
        if (strncasecmp(head.c_str() + at + 2, name, n) == 0 && head[at + 2 + n] == ':') {
            size_t v = at + 3 + n;
            while (v < head.size() && head[v] == ' ') ++v;
            return head.substr(v, head.find("\r\n", v) - v);
        }
    return "";
}

// Whether `in` holds a whole answer; at_eof: the server closed the connection.
bool complete(const std::string& in, bool at_eof) {
    const size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const std::string head = in.substr(0, end + 2);
    if (const std::string length = header(head, "Content-Length"); !length.empty())
        return in.size() >= end + 4 + std::strtoull(length.c_str(), nullptr, 10);
    if (header(head, "Transfer-Encoding").find("chunked") != std::string::npos)
        return in.size() >= 5 && in.compare(in.size() - 5, 5, "0\r\n\r\n") == 0;
    return at_eof;
}

}  // namespace

double drive_posts(const std::string& address, const std::string& path, const std::vector<std::vector<std::string>>& bodies,
                   bool keep_alive) {
    std::string hostport = address.rfind("http://", 0) == 0 ? address.substr(7) : address;
    const size_t colon = hostport.rfind(':');
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(std::atoi(hostport.c_str() + colon + 1)));
    if (colon == std::string::npos || inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &to.sin_addr) != 1)
        die("the load driver needs an IPv4 address, not " + address);
    const std::string head = "POST " + path + " HTTP/1.1\r\nHost: " + hostport + "\r\nContent-Type: application/json\r\n" +
                             (keep_alive ? "" : "Connection: close\r\n") + "Content-Length: ";

    const int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<Client> clients(bodies.size());
    auto watch = [&](size_t k, uint32_t events, int op) {
        epoll_event e{};
        e.events = events;
        e.data.u64 = k;
        epoll_ctl(ep, op, clients[k].fd, &e);
    };
    auto connect_client = [&](size_t k) {
        Client& c = clients[k];
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        const int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)
            die("cannot connect to " + address + ": " + std::strerror(errno));
        watch(k, EPOLLOUT, EPOLL_CTL_ADD);
    };
    // Starts client k's next request (connecting first when it has no connection); false when it is done.
    auto start = [&](size_t k) {
        Client& c = clients[k];
        if (c.next == c.bodies->size()) return false;
        const std::string& body = (*c.bodies)[c.next++];
        c.out = head + std::to_string(body.size()) + "\r\n\r\n" + body;
        c.sent = 0;
        c.in.clear();
        if (c.fd < 0) connect_client(k);
        else watch(k, EPOLLOUT, EPOLL_CTL_MOD);
        return true;
    };
    auto close_client = [&](Client& c) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
    };

    const auto t0 = std::chrono::steady_clock::now();
    size_t running = 0;
    for (size_t k = 0; k < clients.size(); ++k) {
        clients[k].bodies = &bodies[k];
        running += start(k);
    }
    epoll_event events[64];
    while (running > 0) {
        const int n = epoll_wait(ep, events, 64, 600 * 1000);
        if (n == 0) die("no answer from " + address + " in 600 s");
        for (int e = 0; e < n; ++e) {
            const size_t k = events[e].data.u64;
            Client& c = clients[k];
            if (c.sent < c.out.size()) {
                const ssize_t w = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) die("cannot send to " + address + ": " + std::strerror(errno));
                if (w > 0) c.sent += static_cast<size_t>(w);
                if (c.sent == c.out.size()) watch(k, EPOLLIN, EPOLL_CTL_MOD);
                continue;
            }
            char buf[65536];
            ssize_t got;
            while ((got = recv(c.fd, buf, sizeof buf, 0)) > 0) c.in.append(buf, static_cast<size_t>(got));
            const bool eof = got == 0;
            if (got < 0 && errno != EAGAIN) die("reading from " + address + ": " + std::strerror(errno));
            if (!complete(c.in, eof)) {
                if (eof) die("the answer from " + address + path + " ended early: " + c.in.substr(0, 300));
                continue;
            }

            if (c.in.compare(0, 12, "HTTP/1.1 200") != 0 && c.in.compare(0, 12, "HTTP/1.0 200") != 0)
                die("benchmark request to " + address + path + " failed: " + c.in.substr(0, 500));
            const bool server_closes = strcasecmp(header(c.in.substr(0, c.in.find("\r\n\r\n") + 2), "Connection").c_str(), "close") == 0;
            if (!keep_alive || eof || server_closes) close_client(c);
            if (!start(k)) {
                if (c.fd >= 0) close_client(c);
                --running;
            }
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    close(ep);
    return seconds;
}

}  // namespace bench
