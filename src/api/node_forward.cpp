#include "api/node_forward.h"

#include "api/http_util.h"
#include "cluster/cluster_node.h"
#include "common/http_client.h"
#include "common/log.h"

namespace xinfer {

namespace {

NodeForwarding forwarding;
thread_local bool came_from_node = false;

const char* kFromHeader = "X-Xinfer-Forwarded";
const char* kTokenHeader = "X-Xinfer-Cluster-Token";

// What each relayed answer holds on to until its last byte is passed on.
struct Relay {
    std::unique_ptr<httplib::Client> client;
    httplib::ClientImpl::StreamHandle handle;
    std::string node;
    ~Relay() {
        if (forwarding.cluster) forwarding.cluster->end_forward(node);
    }
};

}  // namespace

void set_node_forwarding(NodeForwarding f) { forwarding = std::move(f); }
const NodeForwarding& node_forwarding() { return forwarding; }

bool request_came_from_node() { return came_from_node; }
void note_request_origin(const httplib::Request& req) { came_from_node = req.has_header(kFromHeader); }

bool request_from_node_refused(const httplib::Request& req) {
    return req.has_header(kFromHeader) && !forwarding.token.empty() && req.get_header_value(kTokenHeader) != forwarding.token;
}

void forward_to_node(const httplib::Request& req, httplib::Response& res, const RoutedElsewhere& to) {
    if (!unusable_address(to.address).empty()) {  // a node that advertised nothing reachable: as if down
        if (forwarding.cluster) forwarding.cluster->suspect(to.node);
        throw NodeUnreachable{to.node};
    }
    auto client = make_client(to.address);
    client->set_connection_timeout(2, 0);
    client->set_read_timeout(600, 0);
    client->set_write_timeout(60, 0);
    client->set_path_encode(false);  // the target is passed on exactly as it came
    httplib::Headers headers;
    for (const char* name : {"Authorization", "Accept", "X-Request-Id", "User-Agent"})
        if (req.has_header(name)) headers.emplace(name, req.get_header_value(name));
    headers.emplace(kFromHeader, forwarding.self);
    if (!forwarding.token.empty()) headers.emplace(kTokenHeader, forwarding.token);
    std::string content_type = req.get_header_value("Content-Type");
    std::string rebuilt;
    const bool multipart = req.is_multipart_form_data();
    if (multipart) rebuilt = multipart_body(req.form, content_type);
    const std::string& body = multipart ? rebuilt : req.body;
    const std::string target = req.target.empty() ? req.path : req.target;

    if (forwarding.cluster) forwarding.cluster->begin_forward(to.node);
    auto relay = std::make_shared<Relay>();
    relay->client = std::move(client);
    relay->node = to.node;
    relay->handle = relay->client->open_stream(req.method, target, {}, headers, body, content_type);
    if (!relay->handle.response &&
        (relay->handle.error == httplib::Error::Connection || relay->handle.error == httplib::Error::ConnectionTimeout)) {
        // Nothing was sent: the request may go to another replica.
        if (forwarding.cluster) forwarding.cluster->suspect(to.node);
        throw NodeUnreachable{to.node};
    }
    if (!relay->handle.response)
        throw ApiError(503, "Node '" + to.node + "' (" + to.address + "), which runs this model, did not answer (" +
                                httplib::to_string(relay->handle.error) + ")",
                       "", "", "node_unreachable");
    const auto& answer = *relay->handle.response;
    if (answer.status == 503 && answer.has_header("X-Xinfer-Draining")) {  // it took nothing on: try elsewhere
        if (forwarding.cluster) forwarding.cluster->suspect(to.node);
        throw NodeUnreachable{to.node};
    }
    res.status = answer.status;
    for (const char* name : {"Retry-After", "Cache-Control", "X-Accel-Buffering", "Content-Disposition"})
        if (answer.has_header(name)) res.set_header(name, answer.get_header_value(name));
    res.set_header("X-Xinfer-Node", to.node);
    const std::string type = answer.get_header_value("Content-Type", "application/json");
    if (answer.has_header("Content-Length")) {  // a whole answer: passed on whole
        std::string whole;
        char buf[16384];
        for (ssize_t n; (n = relay->handle.read(buf, sizeof buf)) > 0;) whole.append(buf, static_cast<size_t>(n));
        res.set_content(std::move(whole), type);
        return;
    }
    res.set_chunked_content_provider(type, [relay](size_t, httplib::DataSink& sink) {
        char buf[16384];
        const ssize_t n = relay->handle.read(buf, sizeof buf);
        if (n > 0) return sink.write(buf, static_cast<size_t>(n));
        sink.done();
        return true;
    });
}

}  // namespace xinfer
