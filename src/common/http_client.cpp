#include "common/http_client.h"

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
    return c;
}

}  // namespace xinfer
