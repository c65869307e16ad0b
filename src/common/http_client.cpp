#include "common/http_client.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace xinfer {

namespace {

// The address as httplib's client reads it: "http://host:port" (a scheme added when there is none).
std::string http_address(const std::string& address) {
    std::string a = address;
    if (a.find("://") == std::string::npos) a = "http://" + a;
    // The scheme is case-insensitive (HTTP://host): httplib reads it in lower case only.
    std::transform(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(a.find("://")), a.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (a.size() > a.find("://") + 3 && a.back() == '/') a.pop_back();
    return a;
}

}  // namespace

std::string unusable_address(const std::string& address) {
    if (address.empty()) return "no address given";
    if (address[0] == '/') return "";  // a unix socket
    const std::string a = http_address(address);
    const size_t scheme_end = a.find("://");
    const std::string scheme = a.substr(0, scheme_end);
    if (scheme == "https") return "https is not supported (xinfer's clients speak plain HTTP: use the service's own http:// address)";
    if (scheme != "http") return "'" + scheme + "' is not a scheme xinfer speaks (use http://HOST:PORT)";
    const std::string rest = a.substr(scheme_end + 3);
    if (rest.find('/') != std::string::npos) return "a path is not part of an address (use http://HOST:PORT)";
    // The port: after the last ':' unless that is inside an IPv6 literal ("[::1]:9997").
    const size_t colon = rest.rfind(':');
    const size_t bracket = rest.rfind(']');
    if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) return rest.empty() ? "no host given" : "";
    if (colon == 0) return "no host given";
    const std::string port = rest.substr(colon + 1);
    const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) return "'" + port + "' is not a port (1-65535)";
    // Whatever else httplib's client cannot read (user info, a stray ':'), so that this check and
    // make_client agree.
    if (!httplib::Client(a).is_valid()) return "not an address (use http://HOST:PORT)";
    return "";
}

std::unique_ptr<httplib::Client> make_client(const std::string& address) {
    if (const std::string why = unusable_address(address); !why.empty())
        throw std::invalid_argument("cannot connect to '" + address + "': " + why);
    std::unique_ptr<httplib::Client> c;
    if (address[0] == '/') {
        c = std::make_unique<httplib::Client>(address);
        c->set_address_family(AF_UNIX);
    } else {
        c = std::make_unique<httplib::Client>(http_address(address));
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
