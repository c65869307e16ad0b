#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "common/subprocess.h"

using namespace xinfer;

TEST(ProcessManager, ReportsExitStatusAndLogs) {
    auto log = std::filesystem::temp_directory_path() / ("xinfer-sp-" + std::to_string(::getpid()) + ".log");
    std::promise<int> exited;
    ProcessManager::instance().spawn({{"/bin/sh", "-c", "echo hello from child; exit 3"}, {}, log.string()},
                                     [&](int st) { exited.set_value(st); });
    int st = exited.get_future().get();
    EXPECT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 3);
    EXPECT_EQ(tail_lines(log.string(), 5), "hello from child");
    EXPECT_EQ(describe_wait_status(st), "exited with status 3");
    std::filesystem::remove(log);
}

TEST(ProcessManager, TerminateStopsChild) {
    std::promise<int> exited;
    pid_t pid = ProcessManager::instance().spawn({{"/bin/sleep", "60"}, {}, ""}, [&](int st) { exited.set_value(st); });
    EXPECT_TRUE(ProcessManager::instance().alive(pid));
    ProcessManager::instance().terminate(pid, std::chrono::seconds(2));
    EXPECT_FALSE(ProcessManager::instance().alive(pid));
    int st = exited.get_future().get();
    EXPECT_TRUE(WIFSIGNALED(st));
}

TEST(ProcessManager, MissingProgramExits127) {
    std::promise<int> exited;
    ProcessManager::instance().spawn({{"/no/such/program"}, {}, ""}, [&](int st) { exited.set_value(st); });
    int st = exited.get_future().get();
    EXPECT_EQ(WEXITSTATUS(st), 127);
}

TEST(TailLines, KeepsLastLines) {
    auto p = std::filesystem::temp_directory_path() / ("xinfer-tail-" + std::to_string(::getpid()));
    std::ofstream(p) << "a\nb\nc\nd\n";
    EXPECT_EQ(tail_lines(p.string(), 2), "c\nd");
    EXPECT_EQ(tail_lines("/no/such", 2), "");
    std::filesystem::remove(p);
}
