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

ClientPool::ClientPool(std::string address, size_t max_idle) : address_(std::move(address)), max_idle_(max_idle) {}

std::unique_ptr<httplib::Client> ClientPool::take() {
    {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
    }
    auto c = make_client(address_);
    c->set_keep_alive(true);
    return c;
}

void ClientPool::give(std::unique_ptr<httplib::Client> client) {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(client));
}

}  // namespace xinfer
