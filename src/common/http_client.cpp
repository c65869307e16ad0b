#include "common/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace xinfer {

std::unique_ptr<httplib::Client> make_client(const std::string& address) {
    std::unique_ptr<httplib::Client> c;
    if (!address.empty() && address[0] == '/') {
        c = std::make_unique<httplib::Client>(address);
        c->set_address_family(AF_UNIX);
    } else {
        std::string a = address;
        if (a.rfind("http://", 0) != 0 && a.rfind("https://", 0) != 0) a = "http://" + a;
        while (!a.empty() && a.back() == '/') a.pop_back();
        c = std::make_unique<httplib::Client>(a);
    }
    c->set_connection_timeout(5, 0);
    // httplib sends a streamed request's headers one line per send(): ten system calls, and as
    // many wake-ups of the engine's reader thread, for each chat request. One write instead
    // (httplib has checked every field before it calls the writer).
    c->set_header_writer([](httplib::Stream& strm, httplib::Headers& headers) -> ssize_t {
        std::string s;
        for (const auto& [name, value] : headers) s.append(name).append(": ").append(value).append("\r\n");
        s += "\r\n";
        return strm.write(s.data(), s.size());
    });
    return c;
}

int free_loopback_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

}  // namespace xinfer
