#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>

#include "common/subprocess.h"

using namespace xinfer;

namespace {
// The child's exit report, waited for with a deadline: a report that never comes fails the test
// instead of hanging it. Shared, because the report may still arrive after a failed wait.
struct ExitReport {
    std::shared_ptr<std::promise<int>> promise = std::make_shared<std::promise<int>>();
    std::function<void(int)> callback() {
        return [p = promise](int st) { p->set_value(st); };
    }
    int wait(std::chrono::seconds limit = std::chrono::seconds(20)) {
        auto f = promise->get_future();
        if (f.wait_for(limit) != std::future_status::ready) {
            ADD_FAILURE() << "no exit report within " << limit.count() << " s";
            return -1;
        }
        return f.get();
    }
};
}  // namespace

TEST(ProcessManager, ReportsExitStatusAndLogs) {
    auto log = std::filesystem::temp_directory_path() / ("xinfer-sp-" + std::to_string(::getpid()) + ".log");
    ExitReport exited;
    ProcessManager::instance().spawn({{"/bin/sh", "-c", "echo hello from child; exit 3"}, {}, log.string()}, exited.callback());
    int st = exited.wait();
    EXPECT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 3);
    EXPECT_EQ(tail_lines(log.string(), 5), "hello from child");
    EXPECT_EQ(describe_wait_status(st), "exited with status 3");
    std::filesystem::remove(log);
}

TEST(ProcessManager, TerminateStopsChild) {
    ExitReport exited;
    pid_t pid = ProcessManager::instance().spawn({{"/bin/sleep", "60"}, {}, ""}, exited.callback());
    EXPECT_TRUE(ProcessManager::instance().alive(pid));
    ProcessManager::instance().terminate(pid, std::chrono::seconds(2));
    EXPECT_FALSE(ProcessManager::instance().alive(pid));
    int st = exited.wait();
    EXPECT_TRUE(WIFSIGNALED(st));
}

TEST(ProcessManager, MissingProgramExits127) {
    ExitReport exited;
    ProcessManager::instance().spawn({{"/no/such/program"}, {}, ""}, exited.callback());
    int st = exited.wait();
    EXPECT_EQ(WEXITSTATUS(st), 127);
}

TEST(TailLines, KeepsLastLines) {
    auto p = std::filesystem::temp_directory_path() / ("xinfer-tail-" + std::to_string(::getpid()));
    std::ofstream(p) << "a\nb\nc\nd\n";
    EXPECT_EQ(tail_lines(p.string(), 2), "c\nd");
    EXPECT_EQ(tail_lines("/no/such", 2), "");
    std::filesystem::remove(p);
}
