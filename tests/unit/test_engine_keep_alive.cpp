// EngineStream with a ConnectionPool against a keep-alive server on a unix socket: requests
// reuse one connection; a connection the engine closed, or refuses to keep, is not reused, and
// no request is lost for it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/engine_stream.h"
#include "unix_listener.h"
#include "common/connection_pool.h"

using namespace xinfer;

namespace {

// Serves every connection on its own thread, answering each whole request with the number of
// requests this connection has carried ("1", "2", ...). How it ends a connection:
enum class Ending {
    keep,               // never (the client closes)
    close_when_idle,    // closes after each answer, without saying so (an idle timeout)
    drop_second,        // reads a connection's second request and closes without answering
    say_close,          // answers with "Connection: close" and closes
    silent_second,      // reads a connection's second request and never answers it
    stall_second,       // answers a connection's second request only in part, finishing 3 s later
};

class KeepAliveServer {
public:
    explicit KeepAliveServer(Ending ending) : ending_(ending) {
        listen_fd_ = listen_unix("ka", 8, path_);
        acceptor_ = std::thread([this] {
            for (;;) {
                const int c = accept(listen_fd_, nullptr, nullptr);
                if (c < 0) return;  // shut down
                std::lock_guard lock(mu_);
                ++connections_;
                fds_.push_back(c);
                serving_.emplace_back([this, c] { serve(c); });
            }
        });
    }
    ~KeepAliveServer() {
        shutdown(listen_fd_, SHUT_RDWR);
        acceptor_.join();
        {
            std::lock_guard lock(mu_);
            for (int fd : fds_) shutdown(fd, SHUT_RDWR);
        }
        for (auto& t : serving_) t.join();
        for (int fd : fds_) close(fd);
        close(listen_fd_);
        unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }
    int connections() {
        std::lock_guard lock(mu_);
        return connections_;
    }

private:
    void serve(int c) {
        std::string in;
        char buf[4096];
        for (int carried = 1;; ++carried) {
            size_t head, length = 0;
            for (;;) {  // one whole request
                head = in.find("\r\n\r\n");
                if (head != std::string::npos) {
                    const size_t at = in.find("Content-Length: ");
                    length = at == std::string::npos || at > head ? 0 : std::stoul(in.substr(at + 16));
                    if (in.size() >= head + 4 + length) break;
                }
                const ssize_t n = recv(c, buf, sizeof buf, 0);
                if (n <= 0) return;
                in.append(buf, static_cast<size_t>(n));
            }
            in.erase(0, head + 4 + length);
            if (ending_ == Ending::drop_second && carried == 2) {
                shutdown(c, SHUT_RDWR);
                return;
            }
            if (ending_ == Ending::silent_second && carried == 2) continue;  // until the client hangs up
            const std::string body = std::to_string(carried) + "!";
            if (ending_ == Ending::stall_second && carried == 2) {
                const std::string part = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + body.substr(0, 1);
                (void)!send(c, part.data(), part.size(), MSG_NOSIGNAL);
                pollfd p{c, POLLIN, 0};
                if (poll(&p, 1, 3000) != 0) return;  // the client hung up (or the test ended) first
                (void)!send(c, body.data() + 1, 1, MSG_NOSIGNAL);
                continue;
            }
            std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
            if (ending_ == Ending::say_close) answer += "Connection: close\r\n";
            answer += "\r\n" + body;
            (void)!send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
            if (ending_ == Ending::close_when_idle || ending_ == Ending::say_close) {
                shutdown(c, SHUT_RDWR);
                return;
            }
        }
    }

    Ending ending_;
    std::string path_;
    int listen_fd_ = -1;
    std::thread acceptor_;
    std::mutex mu_;
    std::vector<std::thread> serving_;
    std::vector<int> fds_;
    int connections_ = 0;
};

// One request through the pool; its whole answer body, or "error: ..." when it failed.
std::string call(const KeepAliveServer& server, ConnectionPool& pool, int read_timeout_s = 5) {
    EngineStream::Request r;
    r.address = server.path();
    r.path = "/v1/embeddings";
    r.body = "{\"input\":\"x\"}";
    r.read_timeout_s = read_timeout_s;
    r.pool = &pool;
    EngineStream s(r);
    if (!s.ok()) return "error: " + s.error();
    std::string out;
    char buf[64];
    ssize_t n;
    while ((n = s.read(buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return n < 0 ? "error: " + s.error() : out;
}

}  // namespace

TEST(EngineKeepAlive, RequestsReuseOneConnection) {
    KeepAliveServer server(Ending::keep);
    ConnectionPool pool;
    EXPECT_EQ(call(server, pool), "1!");
    EXPECT_EQ(call(server, pool), "2!");
    EXPECT_EQ(call(server, pool), "3!");
    EXPECT_EQ(server.connections(), 1);
}

TEST(EngineKeepAlive, AConnectionTheEngineClosedWhileIdleIsNotReused) {
    KeepAliveServer server(Ending::close_when_idle);
    ConnectionPool pool;
    EXPECT_EQ(call(server, pool), "1!");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the engine's close has arrived
    EXPECT_EQ(call(server, pool), "1!");
    EXPECT_EQ(server.connections(), 2);
}

TEST(EngineKeepAlive, ARequestOnAConnectionClosedUnderItGoesAgainOnANewOne) {
    // The engine closes the connection as the request arrives (its idle timeout struck while the
    // request was on its way): the request is sent once more, on a fresh connection.
    KeepAliveServer server(Ending::drop_second);
    ConnectionPool pool;
    EXPECT_EQ(call(server, pool), "1!");
    EXPECT_EQ(call(server, pool), "1!");
    EXPECT_EQ(server.connections(), 2);
}

TEST(EngineKeepAlive, AnEngineTooSlowToAnswerIsNotAskedTwice) {
    // A timeout is not a closed connection: the engine may be working on it.
    KeepAliveServer server(Ending::silent_second);
    ConnectionPool pool;
    EXPECT_EQ(call(server, pool), "1!");
    EXPECT_NE(call(server, pool, 1).find("timed out"), std::string::npos);
    EXPECT_EQ(server.connections(), 1);
}

TEST(EngineKeepAlive, AReusedConnectionKeepsTheReadTimeoutOfItsNewRequest) {
    // The pool remembers the timeouts last set on a socket to spare setting them again: a request
    // with a shorter read timeout than the connection's last one must still be cut off by it
    // when the answer stops halfway (here for 3 s, past its 1 s, within the first request's 5 s).
    KeepAliveServer server(Ending::stall_second);
    ConnectionPool pool;
    EXPECT_EQ(call(server, pool, 5), "1!");
    EXPECT_NE(call(server, pool, 1).find("timed out"), std::string::npos);
    EXPECT_EQ(server.connections(), 1);
}

TEST(EngineKeepAlive, AnAnswerSayingCloseEndsTheConnection) {
    KeepAliveServer server(Ending::say_close);
    ConnectionPool pool;
    EXPECT_EQ(call(server, pool), "1!");
    EXPECT_EQ(call(server, pool), "1!");
    EXPECT_EQ(server.connections(), 2);
}

TEST(EngineKeepAlive, WithoutAPoolEachRequestHasItsOwnConnection) {
    KeepAliveServer server(Ending::keep);
    EngineStream::Request r;
    r.address = server.path();
    r.path = "/v1/embeddings";
    r.body = "{}";
    for (int i = 0; i < 2; ++i) {
        EngineStream s(r);
        char buf[8];
        while (s.read(buf, sizeof buf) > 0) {
        }
    }
    EXPECT_EQ(server.connections(), 2);
}
