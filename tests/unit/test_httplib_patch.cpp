// xinfer's copy of httplib (cmake/httplib_patch.cmake) sends without polling first, closes a
// connection at once when nothing is left unread, leaves TCP_NODELAY to what an accepted socket
// takes from its listener, and reuses each thread's read buffers. What a client relies on must hold all the same:
// a client that stops reading a long answer is dropped after the write timeout (the send no longer
// waits in poll: the socket's own send timeout must bound it), one that stops sending mid-request
// after the read timeout, one that has sent everything gets its whole answer before the
// connection closes, answers go out without Nagle's wait, and a handler that reads another
// server's answer on the same thread gets both bodies whole.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

namespace {

constexpr size_t kBigAnswer = 32u << 20;  // far more than the two sockets' buffers hold

// A server on a free loopback port with write and read timeouts of one second.
class SmallServer {
public:
    explicit SmallServer(const std::function<void(httplib::Server&)>& more_routes = {}) {
        server_.set_write_timeout(1, 0);
        server_.set_read_timeout(1, 0);
        if (more_routes) more_routes(server_);
        server_.Get("/big", [](const httplib::Request&, httplib::Response& res) { res.set_content(std::string(kBigAnswer, 'x'), "text/plain"); });
        server_.Get("/small", [](const httplib::Request&, httplib::Response& res) { res.set_content("hello", "text/plain"); });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        server_.wait_until_ready();
    }
    ~SmallServer() {
        server_.stop();
        thread_.join();
    }
    int port() const { return port_; }

private:
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
};

int connect_to(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Everything the server sends until it closes.
std::string read_to_end(int fd) {
    std::string got;
    char buf[1 << 16];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
    return got;
}

}  // namespace

TEST(HttplibPatch, AClientThatStopsReadingIsDroppedAfterTheWriteTimeout) {
    SmallServer server;
    const int fd = connect_to(server.port());
    ASSERT_GE(fd, 0);
    const std::string request = "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    // Not reading for three times the write timeout: the server's send must give up meanwhile.
    // Were it to wait for room without a timeout, reading now would let it finish the answer.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const std::string got = read_to_end(fd);
    close(fd);
    EXPECT_GT(got.size(), 0u);
    EXPECT_LT(got.size(), kBigAnswer) << "the whole answer arrived: the stalled send was never cut off";
}

TEST(HttplibPatch, AClientThatSentEverythingGetsItsWholeAnswerBeforeTheClose) {
    SmallServer server;
    for (const char* path : {"/small", "/big"}) {
        const int fd = connect_to(server.port());
        ASSERT_GE(fd, 0);
        const std::string request = std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
        const std::string got = read_to_end(fd);  // ends when the server closes
        close(fd);
        const size_t body = got.find("\r\n\r\n");
        ASSERT_NE(body, std::string::npos) << path;
        EXPECT_EQ(got.size() - body - 4, std::string(path) == "/small" ? 5u : kBigAnswer) << path;
    }
}

TEST(HttplibPatch, AClientThatStopsSendingMidRequestIsDroppedAfterTheReadTimeout) {
    SmallServer server;
    const int fd = connect_to(server.port());
    ASSERT_GE(fd, 0);
    const std::string partial = "GET /small HTTP/1.1\r\nHost: x\r\n";  // the headers never end
    ASSERT_EQ(send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
    // The server gives up waiting for the rest after its one-second read timeout and closes;
    // were that wait unbounded, this read would time out instead.
    timeval wait{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char byte;
    const ssize_t n = recv(fd, &byte, 1, 0);
    const int err = errno;
    close(fd);
    EXPECT_GE(n, 0) << "no close from the server in 10 s: " << std::strerror(err);
}

// The socket of this process connected from `peer_port` to `local_port`, or -1.
int served_socket(int local_port, int peer_port) {
    DIR* dir = opendir("/proc/self/fd");
    int found = -1;
    for (dirent* e; dir && (e = readdir(dir)) && found < 0;) {
        const int fd = std::atoi(e->d_name);
        sockaddr_in mine{}, theirs{};
        socklen_t a = sizeof mine, b = sizeof theirs;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &a) != 0 || mine.sin_family != AF_INET) continue;
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&theirs), &b) != 0) continue;
        if (ntohs(mine.sin_port) == local_port && ntohs(theirs.sin_port) == peer_port) found = fd;
    }
    if (dir) closedir(dir);
    return found;
}

TEST(HttplibPatch, AnAcceptedConnectionHasTheServersTimeoutsAndNoNagle) {
    int port = 0;
    SmallServer server([&port](httplib::Server& s) {
        // The handler looks at its own connection, found by the client's port.
        s.Get("/options", [&port](const httplib::Request& req, httplib::Response& res) {
            const int fd = served_socket(port, req.remote_port);
            int nodelay = 0;
            timeval rcv{}, snd{};
            socklen_t n = sizeof nodelay, r = sizeof rcv, w = sizeof snd;
            getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &n);
            getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, &r);
            getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, &w);
            res.set_content(std::to_string(fd >= 0) + " " + std::to_string(nodelay != 0) + " " + std::to_string(rcv.tv_sec) + " " +
                                std::to_string(snd.tv_sec) + " " + req.remote_addr,
                            "text/plain");
        });
    });
    port = server.port();
    httplib::Client client("127.0.0.1", port);
    const auto res = client.Get("/options");
    ASSERT_TRUE(res);
    // Found, TCP_NODELAY, read and write timeouts of 1 s, and the client's address (audit log).
    EXPECT_EQ(res->body, "1 1 1 1 127.0.0.1");
}

TEST(HttplibPatch, AHandlerReadingAnotherServersAnswerMidBodyGetsBothBodiesWhole) {
    // Two streams at once on the handler's thread, each with a read buffer: its request's, which
    // still holds the rest of a chunked body when the first chunk is handed over, and its
    // client's, reading another server's answer right then. Were the two to share a buffer, the
    // answer would overwrite the body's unread chunks.
    std::string inner_body(3000, ' ');
    for (size_t i = 0; i < inner_body.size(); ++i) inner_body[i] = static_cast<char>('a' + i % 26);
    SmallServer inner([&](httplib::Server& s) {
        s.Get("/text", [&](const httplib::Request&, httplib::Response& res) { res.set_content(inner_body, "text/plain"); });
    });
    SmallServer outer([&](httplib::Server& s) {
        s.Post("/upload", [&](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& read) {
            std::string body, answers;
            read([&](const char* data, size_t n) {
                body.append(data, n);
                httplib::Client client("127.0.0.1", inner.port());
                const auto r = client.Get("/text");
                answers += r && r->body == inner_body ? "same " : "different ";
                return true;
            });
            res.set_content(answers + body, "text/plain");
        });
    });
    // Ten chunks of 100 bytes, sent with the headers in one write: the server's first read buffers them all.
    std::string chunks, sent;
    for (int c = 0; c < 10; ++c) {
        const std::string piece(100, static_cast<char>('A' + c));
        sent += piece;
        chunks += "64\r\n" + piece + "\r\n";
    }
    const std::string request = "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                chunks + "0\r\n\r\n";
    std::string expected;
    for (int c = 0; c < 10; ++c) expected += "same ";
    // Many times: the server's threads keep buffers from the streams they served before.
    for (int i = 0; i < 20; ++i) {
        const int fd = connect_to(outer.port());
        ASSERT_GE(fd, 0);
        ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
        const std::string got = read_to_end(fd);
        close(fd);
        const size_t body = got.find("\r\n\r\n");
        ASSERT_NE(body, std::string::npos);
        ASSERT_EQ(got.substr(body + 4), expected + sent) << "request " << i;
    }
}
