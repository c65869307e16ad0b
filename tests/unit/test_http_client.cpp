// Which addresses the HTTP client can connect to. httplib's client, given one it cannot parse
// (a port of 0 or 99999, https without TLS), is left without a connection and crashes on first
// use; make_client must refuse those in words instead.
#include <gtest/gtest.h>

#include <stdexcept>

#include "cluster/etcd_client.h"
#include "common/http_client.h"

using namespace xinfer;

TEST(HttpClient, ConnectsToHostPortUrlsAndUnixSockets) {
    for (const char* a : {"127.0.0.1:9997", "http://127.0.0.1:9997", "http://127.0.0.1:9997/", "localhost:1", "http://host:65535",
                          "http://[::1]:9997", "[::1]:9997", "http://example.com", "/tmp/x/model-0.sock", "HTTP://127.0.0.1:9997"}) {
        EXPECT_EQ(unusable_address(a), "") << a;
        EXPECT_NO_THROW(make_client(a)) << a;
    }
}

TEST(HttpClient, RefusesWhatNoConnectionCanBeMadeTo) {
    const std::pair<const char*, const char*> bad[] = {
        {"http://127.0.0.1:0", "'0' is not a port"},     {"127.0.0.1:99999", "'99999' is not a port"},
        {"127.0.0.1:65536", "'65536' is not a port"},    {"localhost:abc", "'abc' is not a port"},
        {"http://127.0.0.1:", "'' is not a port"},       {"http://127.0.0.1:-1", "'-1' is not a port"},
        {"https://127.0.0.1:9997", "https is not supported"}, {"ftp://127.0.0.1:21", "'ftp' is not a scheme"},
        {"http://:9997", "no host given"},               {"http://", "no host given"},
        {"", "no address given"},                        {"http://127.0.0.1:9997/v1", "a path is not part of an address"},
        {"http://user:pw@127.0.0.1:9997", "not an address"},
    };
    for (const auto& [address, why] : bad) {
        EXPECT_NE(unusable_address(address).find(why), std::string::npos) << address << ": " << unusable_address(address);
        try {
            make_client(address);
            ADD_FAILURE() << address << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
    }
}

TEST(Etcd, RefusesAnEndpointItCouldNotConnectTo) {
    EXPECT_NO_THROW(EtcdClient({"http://127.0.0.1:2379"}, 100));
    try {
        EtcdClient({"http://127.0.0.1:2379", "http://127.0.0.1:0"}, 100);
        ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("the etcd endpoint 'http://127.0.0.1:0'"), std::string::npos) << e.what();
    }
}
