// The encoder's spare lane: one thread in Linux's SCHED_IDLE class that runs what the busy lanes
// leave queued, on cycles no other thread wants. Whatever runs it, a text must get the vector (or
// score) it gets alone; and when the spare lane cannot get a core (here: one CPU, kept busy by a
// thread of normal priority), its runs must be taken back and answered by the regular lane.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "engines/llama_encoder/llama_encoder.h"
#include "result_distance.h"

using xinfer::LlamaEncoder;
using xinfer::Tokens;

namespace {

const std::string kEmbed = std::string(XINFER_TEST_MODELS) + "/tiny-embed.gguf";
const std::string kRerank = std::string(XINFER_TEST_MODELS) + "/tiny-rerank.gguf";

std::vector<std::string> texts() {
    std::vector<std::string> out;
    for (int i = 0; i < 10; ++i) {
        std::string t = "note " + std::to_string(i) + " on transcription";
        for (int k = 0; k < i % 3; ++k) t += " and search over meeting minutes";
        out.push_back(t);
    }
    return out;
}

Tokens input(const LlamaEncoder& e, LlamaEncoder::Task task, const std::string& text) {
    return task == LlamaEncoder::Task::rerank ? e.rerank_pair("which note is about search?", text) : e.tokenize(text, true);
}

// Each text alone, on an engine with one lane and no spare one.
std::vector<std::vector<float>> lone_results(const std::string& model, LlamaEncoder::Task task) {
    LlamaEncoder one(model, task, 1, false);
    std::vector<std::vector<float>> out;
    for (const std::string& t : texts()) out.push_back(one.encode({input(one, task, t)})[0]);
    return out;
}

// Threads of this process in the SCHED_IDLE class.
int idle_class_threads() {
    int n = 0;
    DIR* dir = opendir("/proc/self/task");
    while (dirent* e = dir ? readdir(dir) : nullptr)
        if (e->d_name[0] != '.' && sched_getscheduler(std::atoi(e->d_name)) == SCHED_IDLE) ++n;
    if (dir) closedir(dir);
    return n;
}

// 8 clients sending texts until `enough` says so (checked between calls) or `limit`
// passes; returns the first wrong answer, if any.
template <typename Enough>
std::string load(LlamaEncoder& enc, LlamaEncoder::Task task, const std::vector<std::vector<float>>& alone, Enough enough,
                 std::chrono::seconds limit, int min_calls) {
    const std::vector<std::string> all = texts();
    const auto end = std::chrono::steady_clock::now() + limit;
    std::vector<std::string> failures(8);
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c)
        clients.emplace_back([&, c] {
            for (int i = 0; failures[c].empty() && (i < min_calls || (!enough() && std::chrono::steady_clock::now() < end)); ++i) {
                // Mostly one text a call, every fourth call three (split between lanes, or taken back in part).
                std::vector<size_t> picks = {static_cast<size_t>(c * 3 + i) % all.size()};
                if (i % 4 == 3) picks = {static_cast<size_t>(i) % all.size(), static_cast<size_t>(c) % all.size(), 0};
                std::vector<Tokens> inputs;
                for (size_t p : picks) inputs.push_back(input(enc, task, all[p]));
                const auto got = enc.encode(inputs);
                for (size_t k = 0; k < picks.size(); ++k) {
                    const double d = xinfer::test::result_distance(got[k], alone[picks[k]]);
                    if (!(d <= 1e-4))
                        failures[c] = "client " + std::to_string(c) + " call " + std::to_string(i) + ": text " +
                                      std::to_string(picks[k]) + " is " + std::to_string(d) + " from its lone result";
                }
            }
        });
    for (auto& t : clients) t.join();
    for (const std::string& f : failures)
        if (!f.empty()) return f;
    return "";
}

void check_spare_lane_answers(const std::string& model, LlamaEncoder::Task task) {
    const auto alone = lone_results(model, task);
    LlamaEncoder enc(model, task, 1, false, 0, 1);
    ASSERT_EQ(enc.lanes(), 2);
    EXPECT_EQ(idle_class_threads(), 1) << "the spare lane's thread runs in SCHED_IDLE, and only it";
    EXPECT_EQ(load(enc, task, alone, [&] { return enc.stats().spare_runs >= 20; }, std::chrono::seconds(60), 30), "");
    EXPECT_GT(enc.stats().spare_runs, 0u) << "the spare lane never ran (" << enc.stats().runs << " runs)";
}

}  // namespace

TEST(EncoderSpareLane, OneOnlyWhenAsked) {
    LlamaEncoder plain(kEmbed, LlamaEncoder::Task::embedding, 1, false);
    EXPECT_EQ(plain.lanes(), 1);
    EXPECT_EQ(idle_class_threads(), 0);
    EXPECT_EQ(LlamaEncoder(kEmbed, LlamaEncoder::Task::embedding, 2, false, 0, 1).lanes(), 3);
}

TEST(EncoderSpareLane, TextsItRunsGetTheirLoneVectors) {
    check_spare_lane_answers(kEmbed, LlamaEncoder::Task::embedding);
}

TEST(EncoderSpareLane, RerankScoresToo) {
    check_spare_lane_answers(kRerank, LlamaEncoder::Task::rerank);
}

TEST(EncoderSpareLane, ARunThatCannotGetACoreIsTakenBack) {
    const auto alone = lone_results(kEmbed, LlamaEncoder::Task::embedding);
    // One CPU for this thread and every thread it starts from now on (the lanes, the clients, a
    // spinner of normal priority): the spare lane gets next to none of it.
    cpu_set_t before, one;
    ASSERT_EQ(sched_getaffinity(0, sizeof before, &before), 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &before)) {
            CPU_SET(c, &one);
            break;
        }
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    std::atomic<bool> stop{false};
    std::thread spinner([&] {
        while (!stop.load(std::memory_order_relaxed)) {
        }
    });
    std::string wrong;
    LlamaEncoder::Stats s;
    {
        LlamaEncoder enc(kEmbed, LlamaEncoder::Task::embedding, 1, false, 0, 1);
        wrong = load(enc, LlamaEncoder::Task::embedding, alone, [&] { return enc.stats().spare_runs_taken_back >= 1; },
                     std::chrono::seconds(30), 5);
        s = enc.stats();
        stop = true;  // before the engine stops: its spare lane's thread must get a core to end
        spinner.join();
    }
    sched_setaffinity(0, sizeof before, &before);
    EXPECT_EQ(wrong, "");
    EXPECT_GT(s.spare_runs_taken_back, 0u) << "no spare run was taken back (" << s.spare_runs << " spare runs of " << s.runs << ")";
}
