#include "common/engine_stream.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/connection_pool.h"

namespace xinfer {

namespace {

constexpr size_t kMaxHead = 64 << 10;  // no engine sends a header block this long

void set_timeout(int fd, int option, int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

// A connected socket to `address`, or -1 with `error` set.
int connect_to(std::string address, std::string& error) {
    if (!address.empty() && address[0] == '/') {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        if (address.size() >= sizeof a.sun_path) {
            error = "socket path too long: " + address;
            return -1;
        }
        std::memcpy(a.sun_path, address.data(), address.size());
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) set_timeout(fd, SO_SNDTIMEO, 5);  // connect() waits while a hung engine's backlog is full
        if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            error = "cannot connect to " + address + ": " + std::strerror(errno);
            if (fd >= 0) close(fd);
            return -1;
        }
        return fd;
    }
    for (const char* scheme : {"http://", "https://"})
        if (address.rfind(scheme, 0) == 0) address.erase(0, std::strlen(scheme));
    while (!address.empty() && address.back() == '/') address.pop_back();
    const size_t colon = address.rfind(':');
    std::string host = colon == std::string::npos ? address : address.substr(0, colon);
    const std::string port = colon == std::string::npos ? "80" : address.substr(colon + 1);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        error = "cannot resolve " + host + ": " + gai_strerror(rc);
        return -1;
    }
    int fd = -1;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        set_timeout(fd, SO_SNDTIMEO, 5);  // bounds connect() as well
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        error = "cannot connect to " + address + ": " + std::strerror(errno);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd >= 0) {
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

// Writes head then body with as few system calls as the socket allows.
bool send_all(int fd, const std::string& head, const std::string& body, std::string& error) {
    size_t sent = 0;
    const size_t total = head.size() + body.size();
    while (sent < total) {
        iovec v[2];
        int n = 0;
        if (sent < head.size()) v[n++] = {const_cast<char*>(head.data()) + sent, head.size() - sent};
        const size_t body_at = sent > head.size() ? sent - head.size() : 0;
        if (body_at < body.size()) v[n++] = {const_cast<char*>(body.data()) + body_at, body.size() - body_at};
        msghdr m{};
        m.msg_iov = v;
        m.msg_iovlen = static_cast<size_t>(n);
        const ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            error = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out sending the request" : std::string("cannot send the request: ") + std::strerror(errno);
            return false;
        }
        sent += static_cast<size_t>(w);
    }
    return true;
}

}  // namespace

EngineStream::EngineStream(const Request& r) : pool_(r.on_socket ? nullptr : r.pool) {
    // A pooled connection the engine closed just as it was taken fails before any answer: the
    // request then goes once more on a new connection (the engine did not read it).
    bool reused = false;
    if (pool_) {
        const ConnectionPool::Socket idle = pool_->take();
        fd_ = idle.fd;
        rcvtimeo_s_ = idle.read_timeout_s;
        sndtimeo_s_ = idle.write_timeout_s;
        reused = fd_ >= 0;
    }
    if (reused && (exchange(r) || !closed_unanswered_)) return;
    if (reused) {
        close(fd_);
        error_.clear();
        buf_.clear();
        at_ = 0;
        status_ = 0;
        closed_unanswered_ = false;
        rcvtimeo_s_ = sndtimeo_s_ = -1;
    }
    fd_ = connect_to(r.address, error_);
    if (fd_ < 0) return;
    if (r.on_socket) r.on_socket(fd_);
    exchange(r);
}

bool EngineStream::exchange(const Request& r) {
    if (sndtimeo_s_ != r.write_timeout_s) set_timeout(fd_, SO_SNDTIMEO, sndtimeo_s_ = r.write_timeout_s);
    if (rcvtimeo_s_ != r.read_timeout_s) set_timeout(fd_, SO_RCVTIMEO, rcvtimeo_s_ = r.read_timeout_s);
    read_timeout_s_ = r.read_timeout_s;
    std::string head = r.method + " " + r.path + " HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n";
    if (!pool_) head += "Connection: close\r\n";
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT")
        head += "Content-Type: " + r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
    head += "\r\n";
    if (!send_all(fd_, head, r.body, error_)) {
        closed_unanswered_ = errno == EPIPE || errno == ECONNRESET;
        return false;
    }
    return read_head();
}

bool EngineStream::reusable() const {
    return pool_ && done_ && error_.empty() && !chunked_ && at_ == buf_.size() && strcasecmp(header("Connection").c_str(), "close") != 0;
}

EngineStream::~EngineStream() {
    if (fd_ < 0) return;
    if (reusable()) pool_->give({fd_, rcvtimeo_s_, sndtimeo_s_});
    else close(fd_);
}

bool EngineStream::fill(bool poll_first) {
    if (at_ == buf_.size()) {
        buf_.clear();
        at_ = 0;
    } else if (at_ > 4096) {
        buf_.erase(0, at_);
        at_ = 0;
    }
    char tmp[16384];
    for (;;) {
        if (poll_first) {
            pollfd p{fd_, POLLIN, 0};
            const int ready = poll(&p, 1, read_timeout_s_ * 1000);
            if (ready < 0 && errno == EINTR) continue;
            if (ready == 0) {
                error_ = "timed out waiting for the engine";
                return false;
            }
        }
        const ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
        if (n > 0) {
            buf_.append(tmp, static_cast<size_t>(n));
            return true;
        }
        if (n < 0 && errno == EINTR) continue;
        if (status_ == 0 && buf_.empty() && (n == 0 || errno == ECONNRESET)) closed_unanswered_ = true;
        if (n < 0) error_ = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out waiting for the engine" : std::string("connection to the engine failed: ") + std::strerror(errno);
        return false;
    }
}

bool EngineStream::read_head() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (buf_.size() > kMaxHead) {
            error_ = "the engine sent an over-long header block";
            return false;
        }
        // The answer's first bytes are awaited in poll, not in recv: a reader asleep in recv on a
        // unix socket is woken for nothing when the engine reads the request (its write space
        // comes back), a context switch per request; poll sleeps until there is data.
        if (!fill(true)) {
            if (error_.empty()) error_ = "the engine closed the connection without answering";
            return false;
        }
    }
    head_ = buf_.substr(0, end + 2);
    at_ = end + 4;
    // "HTTP/1.1 200 OK"
    if (head_.rfind("HTTP/1.", 0) != 0 || head_.size() < 12) {
        error_ = "the engine's answer is not HTTP";
        return false;
    }
    status_ = std::atoi(head_.c_str() + 9);
    chunked_ = header("Transfer-Encoding").find("chunked") != std::string::npos;
    if (!chunked_) {
        const std::string length = header("Content-Length");
        left_ = length.empty() ? -1 : std::strtoll(length.c_str(), nullptr, 10);
    } else {
        left_ = 0;
    }
    return true;
}

std::string EngineStream::header(const std::string& name) const {
    for (size_t at = head_.find("\r\n"); at != std::string::npos && at + 2 < head_.size();) {
        const size_t line = at + 2;
        const size_t next = head_.find("\r\n", line);
        const size_t colon = head_.find(':', line);
        if (colon != std::string::npos && colon < next && colon - line == name.size() &&
            strncasecmp(head_.c_str() + line, name.c_str(), name.size()) == 0) {
            size_t v = colon + 1;
            while (v < next && (head_[v] == ' ' || head_[v] == '\t')) ++v;
            size_t e = next;
            while (e > v && (head_[e - 1] == ' ' || head_[e - 1] == '\t')) --e;
            return head_.substr(v, e - v);
        }
        at = next;
    }
    return "";
}

ssize_t EngineStream::read(char* out, size_t len) {
    if (done_) return 0;
    if (!error_.empty() || fd_ < 0) return -1;
    for (;;) {
        const size_t avail = buf_.size() - at_;
        if (!chunked_) {
            if (left_ == 0) {
                done_ = true;
                return 0;
            }
            if (avail == 0) {
                if (fill()) continue;
                if (!error_.empty()) return -1;
                if (left_ < 0) {  // a body that ends with the connection
                    done_ = true;
                    return 0;
                }
                error_ = "the engine's answer ended early";
                return -1;
            }
            size_t n = std::min(avail, len);
            if (left_ > 0) n = std::min(n, static_cast<size_t>(left_));
            std::memcpy(out, buf_.data() + at_, n);
            at_ += n;
            if (left_ > 0) left_ -= static_cast<long long>(n);
            return static_cast<ssize_t>(n);
        }
        if (left_ > 0) {  // inside a chunk's data
            if (avail == 0) {
                if (fill()) continue;
                if (error_.empty()) error_ = "the engine's answer ended early";
                return -1;
            }
            const size_t n = std::min({avail, len, static_cast<size_t>(left_)});
            std::memcpy(out, buf_.data() + at_, n);
            at_ += n;
            left_ -= static_cast<long long>(n);
            if (left_ == 0) left_ = -2;  // the data's closing CRLF comes next
            return static_cast<ssize_t>(n);
        }
        // A chunk-size line (after the previous chunk's CRLF, when there was one).
        const size_t skip = left_ == -2 ? 2 : 0;
        const size_t eol = avail >= skip ? buf_.find("\r\n", at_ + skip) : std::string::npos;
        if (eol == std::string::npos) {
            if (avail > kMaxHead) {
                error_ = "the engine sent a malformed chunk";
                return -1;
            }
            if (fill()) continue;
            if (error_.empty()) error_ = "the engine's answer ended early";
            return -1;
        }
        char* end = nullptr;
        const long long size = std::strtoll(buf_.c_str() + at_ + skip, &end, 16);
        if ((skip && buf_.compare(at_, 2, "\r\n") != 0) || end == buf_.c_str() + at_ + skip || size < 0) {
            error_ = "the engine sent a malformed chunk";
            return -1;
        }
        at_ = eol + 2;
        if (size == 0) {  // the last chunk (trailers, if any, are not needed)
            done_ = true;
            return 0;
        }
        left_ = size;
    }
}

}  // namespace xinfer
