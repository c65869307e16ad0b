// Whole HTTP requests as any client could send them, into the real API server (every route,
// authentication on, in this process): the request line, headers, JSON bodies, multipart
// uploads and bearer credentials all pass through the parsers a hostile client reaches. Each
// input is one connection's bytes; the server must answer or close, and stay up.
//
// The server holds one key (seeded in the corpus) that may list, read and register models but
// not start them, so no input launches engines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include "api/api_server.h"
#include "common/log.h"
#include "common/sqlite_db.h"
#include "fuzz_util.h"
#include "registry/registration_store.h"
#include "supervisor/model_store.h"

using namespace xinfer;

namespace {

int server_port = 0;
std::atomic<bool> server_stopped{false};

void start_server() {
    const auto home = fuzz::scratch_dir() / "home";
    std::filesystem::create_directories(home);
    std::filesystem::create_directories(fuzz::scratch_dir() / "models");
    setenv("XINFER_HOME", home.c_str(), 1);
    setenv("XINFER_OFFLINE", "1", 1);
    log::set_level(log::Level::error);
    const auto auth_file = fuzz::scratch_dir() / "auth.json";
    std::ofstream(auth_file) << R"({"auth_config": {"algorithm": "HS256", "secret_key": "a-secret-of-at-least-16-chars",
        "token_expire_in_minutes": 30}, "user_config": [{"username": "fuzz", "password": "fuzz-password",
        "permissions": ["models:list", "models:read", "models:register", "models:unregister"], "api_keys": ["sk-FuzzKey000001"]}]})";
    auto db = std::make_shared<SqliteDb>(home / "xinfer.db");
    auto registry = std::make_shared<Registry>(std::make_shared<RegistrationStore>(db));
    SupervisorConfig sc;
    sc.model_dirs = ModelDirs({fuzz::scratch_dir() / "models"});
    auto* supervisor = new Supervisor(registry, std::make_shared<ModelStore>(db), sc);
    ApiServerConfig ac;
    ac.auth = Authenticator::import_file(auth_file, home);
    ac.http_threads = 4;
    ac.read_timeout_s = 1;
    ac.max_body_bytes = 1 << 20;
    ac.max_json_bytes = 256 << 10;
    auto* server = new ApiServer(*supervisor, *registry, ac);  // lives as long as the process
    std::thread([server] {
        server->listen("127.0.0.1", 0);
        server_stopped = true;  // an input stopped the server: a finding
    }).detach();
    // listen() binds any free port; wait until it has.
    for (int i = 0; i < 500 && server->port() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    server_port = server->port();
    if (server_port == 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    start_server();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A refused connection is retried for a while (a burst can fill the accept queue); a server
    // that stopped listening is a finding.
    int fd = -1;
    for (int attempt = 0;; ++attempt) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
        const int why = errno;
        ::close(fd);
        if (server_stopped || attempt == 100) {
            std::fprintf(stderr, "fuzz_http_request: %s (%s)\n", server_stopped ? "the server stopped" : "no connection for 5 s",
                         std::strerror(why));
            std::abort();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (size_t sent = 0; sent < size;) {
        const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);  // end of the request: the server answers or closes
    char buf[65536];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    ::close(fd);
    return 0;
}
