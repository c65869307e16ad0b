// Where an embedding or rerank replica gets a spare lane (a thread on cycles no other thread
// wants, llama_encoder.h): on the CPU, with cores in the budget beyond its own threads, and no
// cgroup CPU quota, under which time on idle cores would be the whole group's and pause its engines.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "supervisor/placement.h"
#include "worker/cpu_quota.h"

using namespace xinfer;

namespace {

ResolvedModel bert(ModelType type) {
    ResolvedModel m;
    m.type = type;
    m.gguf.architecture = "bert";
    m.gguf.file_size = 64ull << 20;
    m.gguf.embedding_length = 384;
    m.gguf.head_count = 12;
    m.gguf.block_count = 12;
    m.gguf.context_length = 512;
    return m;
}

void write(const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

// Sets an environment variable for one scope.
struct Env {
    const char* name;
    Env(const char* n, const char* v) : name(n) { setenv(n, v, 1); }
    ~Env() { unsetenv(name); }
};

}  // namespace

TEST(SpareThreads, EncodersOnTheCpuWithCoresToSpare) {
    Env cores("XINFER_CPU_CORES", "4");
    if (cgroup_cpu_quota() > 0) GTEST_SKIP() << "this machine runs xinfer under a cgroup CPU quota";
    Placement p;
    LaunchRequest two;
    two.engine_options = {{"n_threads", 2}};
    EXPECT_EQ(p.reserve("embed#0", bert(ModelType::embedding), two).spare_threads, 1);
    EXPECT_EQ(p.reserve("rerank#0", bert(ModelType::rerank), two).spare_threads, 1);
    EXPECT_EQ(p.reservations()[0]["spare_threads"], 1);
    // Every core of the budget its own: none to spare.
    LaunchRequest four;
    four.engine_options = {{"n_threads", 4}};
    Placement q;
    EXPECT_EQ(q.reserve("embed#0", bert(ModelType::embedding), four).spare_threads, 0);
    // Chat models (llama-server), and encoders an option sends to llama-server, have none.
    ResolvedModel chat = bert(ModelType::llm);
    chat.gguf.architecture = "llama";
    EXPECT_EQ(Placement().reserve("chat#0", chat, two).spare_threads, 0);
    LaunchRequest on_server = two;
    on_server.engine_options["n_parallel"] = 4;
    EXPECT_EQ(Placement().reserve("embed#0", bert(ModelType::embedding), on_server).spare_threads, 0);
    // Turned off by hand.
    Env off("XINFER_ENCODER_SPARE_LANES", "0");
    EXPECT_EQ(Placement().reserve("embed#0", bert(ModelType::embedding), two).spare_threads, 0);
}

TEST(SpareThreads, CgroupQuotasV2AndV1) {
    const auto root = std::filesystem::temp_directory_path() / ("xinfer-cgroup-" + std::to_string(getpid()));
    std::filesystem::remove_all(root);
    // cgroup v2: the tightest of the group's and its parents' cpu.max; "max" is none.
    write(root / "v2/cgroup.controllers", "cpu memory\n");
    write(root / "v2/cpu.max", "max 100000\n");
    write(root / "v2/system.slice/cpu.max", "max 100000\n");
    write(root / "v2/system.slice/xinfer.service/cpu.max", "max 100000\n");
    EXPECT_EQ(cgroup_cpu_quota("0::/system.slice/xinfer.service\n", root / "v2"), 0);
    write(root / "v2/system.slice/cpu.max", "150000 100000\n");
    EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/system.slice/xinfer.service\n", root / "v2"), 1.5);
    write(root / "v2/system.slice/xinfer.service/cpu.max", "50000 100000\n");
    EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/system.slice/xinfer.service\n", root / "v2"), 0.5);
    // A container's own namespace: its group is the root.
    write(root / "v2/cpu.max", "200000 100000\n");
    EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/\n", root / "v2"), 2);
    // cgroup v1: the cpu controller's cfs quota and period; -1 is none.
    write(root / "v1/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    write(root / "v1/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    write(root / "v1/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
    write(root / "v1/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    const std::string v1 = "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n";
    EXPECT_EQ(cgroup_cpu_quota(v1, root / "v1"), 0);
    write(root / "v1/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000\n");
    EXPECT_DOUBLE_EQ(cgroup_cpu_quota(v1, root / "v1"), 3);
    std::filesystem::remove_all(root);
}
