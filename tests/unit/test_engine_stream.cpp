// EngineStream against a scripted server on a unix socket: the request arrives whole, and
// answers cut at any byte (chunk sizes, CRLFs, data) decode to the same body.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/engine_stream.h"
#include "unix_listener.h"

using namespace xinfer;

namespace {

// Accepts one connection, records the request (`read_after_ms` after accepting it), then sends
// `pieces` one by one with a pause after each (so each arrives in its own receive) and closes.
class ScriptedServer {
public:
    explicit ScriptedServer(std::vector<std::string> pieces, int pause_ms = 2, int read_after_ms = 0) {
        listen_fd_ = listen_unix("es", 1, path_);
        thread_ = std::thread([this, pieces = std::move(pieces), pause_ms, read_after_ms] {
            const int c = accept(listen_fd_, nullptr, nullptr);
            if (c < 0) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(read_after_ms));
            char buf[65536];
            // The whole request in as few receives as it was sent with.
            for (;;) {
                const ssize_t n = recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                request_.append(buf, static_cast<size_t>(n));
                ++receives_;
                const size_t head = request_.find("\r\n\r\n");
                if (head == std::string::npos) continue;
                const size_t at = request_.find("Content-Length: ");
                const size_t length = at == std::string::npos ? 0 : std::stoul(request_.substr(at + 16));
                if (request_.size() >= head + 4 + length) break;
            }
            for (const std::string& p : pieces) {
                (void)!send(c, p.data(), p.size(), MSG_NOSIGNAL);
                std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
            }
            close(c);
        });
    }
    ~ScriptedServer() {
        thread_.join();
        close(listen_fd_);
        unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }
    const std::string& request() {
        return request_;
    }
    int receives() const { return receives_; }

private:
    std::string path_;
    int listen_fd_ = -1;
    std::thread thread_;
    std::string request_;
    int receives_ = 0;
};

std::string read_all(EngineStream& s, ssize_t* last = nullptr) {
    std::string out;
    char buf[7];  // small on purpose: bodies span several reads
    ssize_t n;
    while ((n = s.read(buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    if (last) *last = n;
    return out;
}

EngineStream::Request post(const std::string& path, const std::string& body) {
    EngineStream::Request r;
    r.address = path;
    r.path = "/v1/chat/completions";
    r.body = body;
    r.read_timeout_s = 5;
    return r;
}

const char* kHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

}  // namespace

TEST(EngineStream, SendsTheRequestInOneWriteAndDecodesChunksCutAnywhere) {
    const std::string body = "data: {\"a\":1}\n\ndata: [DONE]\n\n";
    // The same answer cut in every place a network could cut it.
    const std::string whole = std::string(kHead) + "f\r\ndata: {\"a\":1}\n\n\r\n" + "e\r\ndata: [DONE]\n\n\r\n" + "0\r\n\r\n";
    for (size_t cut : {size_t{10}, std::strlen(kHead) + 1, std::strlen(kHead) + 3, std::strlen(kHead) + 20,
                       std::strlen(kHead) + 22, whole.size() - 3}) {
        ScriptedServer server({whole.substr(0, cut), whole.substr(cut)});
        EngineStream s(post(server.path(), "{\"x\":1}"));
        ASSERT_TRUE(s.ok()) << s.error();
        EXPECT_EQ(s.status(), 200);
        EXPECT_EQ(s.header("content-type"), "text/event-stream");
        ssize_t last = 1;
        EXPECT_EQ(read_all(s, &last), body) << "cut at " << cut;
        EXPECT_EQ(last, 0);
        EXPECT_EQ(s.read(nullptr, 0), 0);  // stays at the end
        const std::string& req = server.request();
        EXPECT_EQ(req.rfind("POST /v1/chat/completions HTTP/1.1\r\n", 0), 0u);
        EXPECT_NE(req.find("Content-Length: 7\r\n"), std::string::npos);
        EXPECT_EQ(req.substr(req.size() - 7), "{\"x\":1}");
    }
    ScriptedServer server({whole});
    EngineStream s(post(server.path(), std::string(1000, 'b')));
    read_all(s);
    EXPECT_EQ(server.receives(), 1) << "the request should arrive in one write";
}

// While the engine works on a request the relaying thread sleeps once: on a unix socket a thread
// asleep in recv is also woken when the engine reads the request (its write space returns), a
// context switch for nothing on every request. Here the engine reads the request while the
// caller waits, and answers later.
TEST(EngineStream, WaitingForTheAnswerSleepsOnce) {
    const std::string whole = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    for (int i = 0; i < 3; ++i) {
        ScriptedServer server({"", whole}, 30, 30);
        rusage before{}, after{};
        getrusage(RUSAGE_THREAD, &before);
        EngineStream s(post(server.path(), "{}"));
        getrusage(RUSAGE_THREAD, &after);
        ASSERT_TRUE(s.ok()) << s.error();
        EXPECT_EQ(read_all(s), "{}");
        EXPECT_LE(after.ru_nvcsw - before.ru_nvcsw, 1) << "times the caller slept waiting for the answer";
    }
}

TEST(EngineStream, ContentLengthAndCloseDelimitedBodies) {
    {
        ScriptedServer server({"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\n{\"error\":1}trailing garbage"});
        EngineStream s(post(server.path(), "{}"));
        EXPECT_EQ(s.status(), 400);
        EXPECT_EQ(read_all(s), "{\"error\":1}");
    }
    {
        ScriptedServer server({"HTTP/1.0 200 OK\r\n\r\nabc", "def"});
        EngineStream s(post(server.path(), "{}"));
        ssize_t last = 1;
        EXPECT_EQ(read_all(s, &last), "abcdef");
        EXPECT_EQ(last, 0);
    }
}

TEST(EngineStream, AnAnswerThatBreaksOffIsAnErrorNotAnEnd) {
    {
        ScriptedServer server({std::string(kHead) + "20\r\nonly part of it"});
        EngineStream s(post(server.path(), "{}"));
        ssize_t last = 0;
        EXPECT_EQ(read_all(s, &last), "only part of it");
        EXPECT_EQ(last, -1);
        EXPECT_FALSE(s.error().empty());
    }
    {
        ScriptedServer server({std::string(kHead) + "zz\r\nbad"});
        EngineStream s(post(server.path(), "{}"));
        ssize_t last = 0;
        read_all(s, &last);
        EXPECT_EQ(last, -1);
        EXPECT_NE(s.error().find("malformed"), std::string::npos);
    }
    {
        ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"});
        EngineStream s(post(server.path(), "{}"));
        ssize_t last = 0;
        EXPECT_EQ(read_all(s, &last), "short");
        EXPECT_EQ(last, -1);
    }
}

TEST(EngineStream, NoEngineIsAnErrorWithoutStatus) {
    EngineStream s(post("/nonexistent/xinfer-engine.sock", "{}"));
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.status(), 0);
    EXPECT_NE(s.error().find("cannot connect"), std::string::npos);
    char buf[4];
    EXPECT_EQ(s.read(buf, sizeof buf), -1);
}
