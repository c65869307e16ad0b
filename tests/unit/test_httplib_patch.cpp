// xinfer's copy of httplib (cmake/httplib_patch.cmake) sends without polling first and closes a
// connection at once when nothing is left unread. What a client relies on must hold all the same:
// a client that stops reading a long answer is dropped after the write timeout (the send no longer
// waits in poll: the socket's own send timeout must bound it), and one that has sent everything
// gets its whole answer before the connection closes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace {

constexpr size_t kBigAnswer = 32u << 20;  // far more than the two sockets' buffers hold

// A server on a free loopback port with a write timeout of one second.
class SmallServer {
public:
    SmallServer() {
        server_.set_write_timeout(1, 0);
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
