// The cluster module's parts: etcd key ranges, the desired-state record, the leader's memory
// estimate, and the etcd client against a real etcd (Debian's etcd-server) when it is installed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster/cluster_agent.h"
#include "cluster/cluster_node.h"
#include "cluster/etcd_client.h"
#include "common/http_client.h"

using namespace xinfer;
namespace fs = std::filesystem;

TEST(Etcd, PrefixEndIncrementsTheLastByte) {
    EXPECT_EQ(etcd_prefix_end("/xinfer/nodes/"), "/xinfer/nodes0");
    EXPECT_EQ(etcd_prefix_end("a\xff"), "b");
    EXPECT_EQ(etcd_prefix_end(std::string(1, '\0')), std::string(1, '\x01'));
}

TEST(DesiredModel, RoundTripsAndDropsEmptyShares) {
    DesiredModel d;
    d.uid = "chat";
    d.nodes = {{"a", 2}, {"b", 1}};
    d.request = {{"model_name", "tiny"}, {"replica", 3}};
    d.failure = "";
    DesiredModel back = DesiredModel::from_json("chat", d.to_json());
    EXPECT_EQ(back.nodes, d.nodes);
    EXPECT_EQ(back.request, d.request);
    EXPECT_EQ(back.share("a"), 2);
    EXPECT_EQ(back.share("c"), 0);
    nlohmann::json j = d.to_json();
    j["nodes"]["c"] = 0;
    j["nodes"]["d"] = "x";
    EXPECT_EQ(DesiredModel::from_json("chat", j).nodes.size(), 2u);
}

TEST(ClusterAgent, EstimatesMemoryFromTheFilesItSees) {
    const fs::path f = fs::temp_directory_path() / ("xinfer-est-" + std::to_string(getpid()) + ".gguf");
    {
        std::ofstream out(f, std::ios::binary);
        out << std::string(10 << 20, 'x');
    }
    EXPECT_EQ(estimated_model_mb({{"model_path", f.string()}}), 11u + 64u);  // 10 MiB + a tenth + 64
    EXPECT_EQ(estimated_model_mb({{"model_path", "/no/such/file.gguf"}}), 0u);
    EXPECT_EQ(estimated_model_mb({{"model_name", "qwen2.5-instruct"}}), 0u);
    fs::remove(f);
}

TEST(ClusterNode, AdvertisedHost) {
    EXPECT_EQ(advertise_host("http://10.0.0.5:9997"), "10.0.0.5");
    EXPECT_EQ(advertise_host("http://node-a.example:9997/"), "node-a.example");
    EXPECT_EQ(advertise_host("10.0.0.6:9997"), "10.0.0.6");
}

// A one-member etcd on loopback for the client tests; skipped where etcd is not installed.
class EtcdFixture : public ::testing::Test {
protected:
    void SetUp() override {
        if (access("/usr/bin/etcd", X_OK) != 0) GTEST_SKIP() << "etcd is not installed (apt-get install etcd-server)";
        dir_ = fs::temp_directory_path() / ("xinfer-etcd-unit-" + std::to_string(getpid()));
        const int client = free_loopback_port(), peer = free_loopback_port();
        url_ = "http://127.0.0.1:" + std::to_string(client);
        const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
        pid_ = fork();
        if (pid_ == 0) {
            if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(126);
            execl("/usr/bin/etcd", "etcd", "--data-dir", dir_.c_str(), "--listen-client-urls", url_.c_str(),
                  "--advertise-client-urls", url_.c_str(), "--listen-peer-urls", peer_url.c_str(),
                  "--initial-advertise-peer-urls", peer_url.c_str(), "--initial-cluster", ("default=" + peer_url).c_str(), nullptr);
            _exit(127);
        }
        for (int i = 0; i < 200; ++i) {
            if (auto r = make_client(url_)->Get("/health"); r && r->status == 200) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL() << "etcd did not start";
    }
    void TearDown() override {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        fs::remove_all(dir_);
    }
    pid_t pid_ = -1;
    fs::path dir_;
    std::string url_;
};

TEST_F(EtcdFixture, KeysRangesAndTransactions) {
    // A dead endpoint first: the client goes on to the live one.
    EtcdClient etcd({"http://127.0.0.1:1", url_});
    etcd.put("/t/a", "1");
    etcd.put("/t/b", std::string("binary\0value", 12));
    etcd.put("/u/c", "3");
    auto a = etcd.get("/t/a");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->value, "1");
    int64_t rev = 0;
    auto under = etcd.list("/t/", &rev);
    ASSERT_EQ(under.size(), 2u);
    EXPECT_EQ(under[1].value, std::string("binary\0value", 12));
    EXPECT_GT(rev, 0);
    EXPECT_FALSE(etcd.get("/t/none"));
    EXPECT_TRUE(etcd.create("/t/new", "x"));
    EXPECT_FALSE(etcd.create("/t/new", "y"));  // exists already
    EXPECT_EQ(etcd.get("/t/new")->value, "x");
    // put_if_holds: only while the guard key is the one this writer created.
    ASSERT_TRUE(etcd.create("/t/leader", "me"));
    const int64_t held = etcd.get("/t/leader")->create_revision;
    EXPECT_TRUE(etcd.put_if_holds("/t/leader", held, "/t/assigned", "node-a"));
    etcd.remove("/t/leader");
    EXPECT_TRUE(etcd.create("/t/leader", "someone else"));
    EXPECT_FALSE(etcd.put_if_holds("/t/leader", held, "/t/assigned", "node-b"));
    EXPECT_EQ(etcd.get("/t/assigned")->value, "node-a");
}

TEST_F(EtcdFixture, LeasesLapseAndTakeTheirKeys) {
    EtcdClient etcd({url_});
    const int64_t lease = etcd.grant_lease(2);
    etcd.put("/n/me", "here", lease);
    EXPECT_GT(etcd.keep_alive(lease), 0);
    EXPECT_EQ(etcd.get("/n/me")->lease, lease);
    etcd.revoke_lease(lease);
    EXPECT_FALSE(etcd.get("/n/me"));
    EXPECT_EQ(etcd.keep_alive(lease), 0);  // gone: the owner must register again
}

TEST_F(EtcdFixture, WatchSeesPutsAndDeletesInOrder) {
    EtcdClient etcd({url_});
    int64_t rev = 0;
    etcd.list("/w/", &rev);
    std::atomic<bool> stop{false};
    std::vector<EtcdEvent> seen;
    std::mutex mu;
    std::thread watcher([&] {
        etcd.watch("/w/", rev + 1, [&](const std::vector<EtcdEvent>& events) {
            std::lock_guard lock(mu);
            seen.insert(seen.end(), events.begin(), events.end());
        }, stop);
    });
    etcd.put("/w/x", "1");
    etcd.put("/other", "not watched");
    etcd.remove("/w/x");
    for (int i = 0; i < 100; ++i) {
        {
            std::lock_guard lock(mu);
            if (seen.size() >= 2) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop = true;
    watcher.join();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_FALSE(seen[0].deleted);
    EXPECT_EQ(seen[0].kv.key, "/w/x");
    EXPECT_EQ(seen[0].kv.value, "1");
    EXPECT_TRUE(seen[1].deleted);
}

TEST(Etcd, NoMemberAnsweringIsUnavailable) {
    EtcdClient etcd({"http://127.0.0.1:1"}, 200);
    EXPECT_THROW(etcd.put("/k", "v"), EtcdUnavailable);
}
