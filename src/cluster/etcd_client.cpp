#include "cluster/etcd_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/http_client.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64(const std::string& in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += kB64[(v >> s) & 63];
    }
    if (i + 1 == in.size()) {
        uint32_t v = uint8_t(in[i]) << 16;
        out += kB64[(v >> 18) & 63], out += kB64[(v >> 12) & 63], out += "==";
    } else if (i + 2 == in.size()) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
        out += kB64[(v >> 18) & 63], out += kB64[(v >> 12) & 63], out += kB64[(v >> 6) & 63], out += '=';
    }
    return out;
}

std::string unb64(const std::string& in) {
    std::string out;
    uint32_t v = 0;
    int bits = 0;
    for (char c : in) {
        const char* p = std::strchr(kB64, c);
        if (c == '=' || !p || !c) continue;
        v = (v << 6) | uint32_t(p - kB64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char((v >> bits) & 0xff);
        }
    }
    return out;
}

// etcd's gateway writes int64 fields as JSON strings and leaves out zero values.
int64_t num(const json& j, const char* field) {
    auto it = j.find(field);
    if (it == j.end() || it->is_null()) return 0;
    if (it->is_string()) return std::stoll(it->get<std::string>());
    return it->get<int64_t>();
}

EtcdKv parse_kv(const json& j) {
    EtcdKv kv;
    kv.key = unb64(j.value("key", ""));
    kv.value = unb64(j.value("value", ""));
    kv.create_revision = num(j, "create_revision");
    kv.mod_revision = num(j, "mod_revision");
    kv.lease = num(j, "lease");
    return kv;
}

json put_op(const std::string& key, const std::string& value, int64_t lease) {
    json p = {{"key", b64(key)}, {"value", b64(value)}};
    if (lease) p["lease"] = std::to_string(lease);
    return p;
}

// "http://host:port/" → host, port.
bool split_endpoint(std::string ep, std::string& host, std::string& port) {
    if (ep.rfind("http://", 0) == 0) ep = ep.substr(7);
    while (!ep.empty() && ep.back() == '/') ep.pop_back();
    const size_t colon = ep.rfind(':');
    if (colon == std::string::npos) return false;
    host = ep.substr(0, colon);
    port = ep.substr(colon + 1);
    return true;
}

int connect_to(const std::string& endpoint, int timeout_ms) {
    std::string host, port;
    if (!split_endpoint(endpoint, host, port)) return -1;
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return -1;
    int fd = -1;
    for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            close(fd), fd = -1;
            continue;
        }
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) close(fd), fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

bool send_all(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 2000) != 1) return false;
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += size_t(n);
    }
    return true;
}

}  // namespace

std::string etcd_prefix_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        if (uint8_t(end.back()) < 0xff) {
            end.back() = char(uint8_t(end.back()) + 1);
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');  // every key
}

static int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints, int timeout_ms)
    : endpoints_(std::move(endpoints)), timeout_ms_(timeout_ms), failed_until_ms_(endpoints_.size(), 0) {
    if (endpoints_.empty()) throw std::invalid_argument("no etcd endpoint given");
    for (const std::string& e : endpoints_)
        if (const std::string why = unusable_address(e); !why.empty())
            throw std::invalid_argument("the etcd endpoint '" + e + "' is not an address to connect to: " + why);
}

std::vector<size_t> EtcdClient::try_order() {
    std::lock_guard lock(mu_);
    const int64_t now = steady_ms();
    std::vector<size_t> order{preferred_}, later;
    for (size_t i = 0; i < endpoints_.size(); ++i) {
        if (i == preferred_) continue;
        (failed_until_ms_[i] > now ? later : order).push_back(i);
    }
    order.insert(order.end(), later.begin(), later.end());
    return order;
}

void EtcdClient::failed(size_t endpoint) {
    std::lock_guard lock(mu_);
    failed_until_ms_[endpoint] = steady_ms() + 5000;
    if (preferred_ == endpoint) preferred_ = (endpoint + 1) % endpoints_.size();
}

json EtcdClient::call(const std::string& path, const json& body) {
    std::string last_error;
    bool answered = false;
    // Rounds over the members for up to 2 s: while etcd elects a new leader (a member died), a
    // request fails for about an election timeout, then succeeds. When a member took the
    // connection but could not serve (no leader yet: it holds the request past our read
    // timeout), up to 5 s: one round of such timeouts alone takes 3 s with three members, and
    // the election (1-2 s at etcd's default timeout) ends meanwhile; a second round then lands.
    const int64_t start = steady_ms();
    for (int round = 0; round == 0 || steady_ms() < start + (answered ? 5000 : 2000); ++round) {
        if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        for (size_t i : try_order()) {
            auto client = make_client(endpoints_[i]);
            client->set_connection_timeout(std::chrono::milliseconds(timeout_ms_));
            client->set_read_timeout(std::chrono::milliseconds(timeout_ms_ * 3));
            client->set_write_timeout(std::chrono::milliseconds(timeout_ms_ * 3));
            auto r = client->Post(path, body.dump(), "application/json");
            // A member that took the connection is there, even when it cannot answer in time (it
            // waits for a quorum it no longer has).
            answered |= r || (r.error() != httplib::Error::Connection && r.error() != httplib::Error::ConnectionTimeout);
            if (!r) {
                last_error = endpoints_[i] + ": " + httplib::to_string(r.error());
                failed(i);
                continue;
            }
            json j = json::parse(r->body, nullptr, false);
            if (r->status != 200) {
                // A member without a leader or quorum answers 5xx: ask another.
                std::string msg = j.is_object() ? j.value("message", j.value("error", r->body)) : r->body;
                last_error = endpoints_[i] + ": " + std::to_string(r->status) + " " + msg;
                if (r->status >= 500) {
                    failed(i);
                    continue;
                }
                throw std::runtime_error("etcd " + path + ": " + last_error);
            }
            std::lock_guard lock(mu_);
            preferred_ = i;
            return j;
        }
    }
    throw EtcdUnavailable(answered ? "etcd cannot serve the request (" + last_error + ")"
                                   : "no etcd member answered (" + last_error + ")");
}

int64_t EtcdClient::grant_lease(int ttl_s) {
    json r = call("/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}});
    int64_t id = num(r, "ID");
    if (!id) throw std::runtime_error("etcd granted no lease: " + r.dump());
    return id;
}

int64_t EtcdClient::keep_alive(int64_t lease) {
    json r = call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}});
    return num(r.value("result", json::object()), "TTL");
}

void EtcdClient::revoke_lease(int64_t lease) { call("/v3/lease/revoke", {{"ID", std::to_string(lease)}}); }

int64_t EtcdClient::put(const std::string& key, const std::string& value, int64_t lease) {
    json r = call("/v3/kv/put", put_op(key, value, lease));
    return num(r.value("header", json::object()), "revision");
}

bool EtcdClient::put_if_holds(const std::string& guard_key, int64_t guard_create_revision, const std::string& key,
                              const std::string& value, int64_t lease) {
    json txn = {{"compare", json::array({{{"key", b64(guard_key)},
                                          {"target", "CREATE"},
                                          {"result", "EQUAL"},
                                          {"create_revision", std::to_string(guard_create_revision)}}})},
                {"success", json::array({{{"request_put", put_op(key, value, lease)}}})}};
    return call("/v3/kv/txn", txn).value("succeeded", false);
}

bool EtcdClient::create(const std::string& key, const std::string& value, int64_t lease) {
    // A key that does not exist has create revision 0.
    json txn = {{"compare", json::array({{{"key", b64(key)}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}})},
                {"success", json::array({{{"request_put", put_op(key, value, lease)}}})}};
    return call("/v3/kv/txn", txn).value("succeeded", false);
}

std::optional<EtcdKv> EtcdClient::get(const std::string& key) {
    json r = call("/v3/kv/range", {{"key", b64(key)}});
    if (!r.contains("kvs") || r["kvs"].empty()) return std::nullopt;
    return parse_kv(r["kvs"][0]);
}

std::vector<EtcdKv> EtcdClient::list(const std::string& prefix, int64_t* revision) {
    json r = call("/v3/kv/range", {{"key", b64(prefix)}, {"range_end", b64(etcd_prefix_end(prefix))}});
    if (revision) *revision = num(r.value("header", json::object()), "revision");
    std::vector<EtcdKv> out;
    for (auto& kv : r.value("kvs", json::array())) out.push_back(parse_kv(kv));
    return out;
}

void EtcdClient::remove(const std::string& key) { call("/v3/kv/deleterange", {{"key", b64(key)}}); }

// The watch is a long-lived chunked HTTP response of newline-separated JSON messages. It is read
// from a plain socket with poll(), so `stop` is noticed within timeout_ms whatever httplib's
// stream API does on a read timeout.
bool EtcdClient::watch(const std::string& prefix, int64_t start_revision,
                       const std::function<void(const std::vector<EtcdEvent>&)>& on_events, const std::atomic<bool>& stop) {
    int fd = -1;
    std::string endpoint;
    for (size_t i : try_order()) {
        endpoint = endpoints_[i];
        if ((fd = connect_to(endpoint, timeout_ms_)) >= 0) break;
        failed(i);
    }
    if (fd < 0) return false;
    json create = {{"key", b64(prefix)}, {"range_end", b64(etcd_prefix_end(prefix))}};
    if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
    const std::string body = json{{"create_request", create}}.dump();
    std::string host, port;
    split_endpoint(endpoint, host, port);
    const std::string request = "POST /v3/watch HTTP/1.1\r\nHost: " + host + ":" + port +
                                "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\n\r\n" + body;
    if (!send_all(fd, request)) {
        close(fd);
        return false;
    }
    std::string raw;       // bytes as received (headers, then chunked framing)
    std::string payload;   // the de-chunked message text
    bool headers_done = false;
    bool ok = true;
    char buf[16384];
    while (!stop) {
        pollfd p{fd, POLLIN, 0};
        int pr = poll(&p, 1, timeout_ms_);
        if (pr == 0) continue;
        ssize_t n = pr > 0 ? ::recv(fd, buf, sizeof buf, 0) : -1;
        if (n <= 0) {
            ok = false;
            break;
        }
        raw.append(buf, size_t(n));
        if (!headers_done) {
            const size_t end = raw.find("\r\n\r\n");
            if (end == std::string::npos) continue;
            if (raw.compare(0, 12, "HTTP/1.1 200") != 0) {
                ok = false;
                break;
            }
            raw.erase(0, end + 4);
            headers_done = true;
        }
        // De-chunk what is complete.
        for (;;) {
            const size_t line_end = raw.find("\r\n");
            if (line_end == std::string::npos) break;
            const size_t size = std::strtoull(raw.substr(0, line_end).c_str(), nullptr, 16);
            if (size == 0) {  // the server ended the stream
                ok = false;
                break;
            }
            if (raw.size() < line_end + 2 + size + 2) break;
            payload.append(raw, line_end + 2, size);
            raw.erase(0, line_end + 2 + size + 2);
        }
        if (!ok) break;
        for (size_t nl; (nl = payload.find('\n')) != std::string::npos;) {
            json msg = json::parse(payload.substr(0, nl), nullptr, false);
            payload.erase(0, nl + 1);
            if (!msg.is_object()) continue;
            const json result = msg.value("result", json::object());
            if (num(result, "compact_revision") > 0 || result.value("canceled", false)) {
                ok = false;
                break;
            }
            std::vector<EtcdEvent> events;
            for (auto& e : result.value("events", json::array()))
                events.push_back({e.value("type", "") == "DELETE", parse_kv(e.value("kv", json::object()))});
            if (!events.empty()) on_events(events);
        }
        if (!ok) break;
    }
    close(fd);
    return ok && stop;
}

}  // namespace xinfer
