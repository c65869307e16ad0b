// Co-location benchmark: a chat model and an embedding model under load at the same time, with
// xinfer's CPU thread budget (each engine gets its share of the cores) against the reference a
// user gets by starting each engine by hand (each takes every core). llama.cpp's worker threads
// spin while waiting, so oversubscribed cores slow both models. With RERANK.gguf, a third
// configuration adds the rest of a small deployment's stack (a reranker and a second chat model,
// launched after the budget is spent, so on shared cores) left idle: the shared budget's promise
// is that idle engines cost the busy ones nothing.
//
// All configurations run side by side as separate services (idle engines sleep), and the load
// windows are interleaved, rotating the order each round, so a noisy machine drifts on all of
// them alike. Use models with real widths for figures (the tiny test models are mostly spin and
// overhead):
//   make_tiny_gguf chat-small  VOCAB-qwen2.gguf  /tmp/chat-small.gguf
//   make_tiny_gguf embedding-small VOCAB-bge.gguf /tmp/embed-small.gguf
//   bench_colocation XINFER_BIN CHAT.gguf EMBED.gguf [seconds=8] [rounds=3] [RERANK.gguf]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_harness.h"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Throughput {
    double chat_tokens_per_s, embeddings_per_s;
};

struct Config {
    const char* name;
    std::unique_ptr<bench::Service> svc;
    std::vector<Throughput> runs;
};

// threads_each > 0: every engine gets that many threads (the service is told the machine has
// enough cores for it); 0: xinfer's own budget on the real cores.
std::unique_ptr<bench::Service> start(const std::string& bin, const std::string& chat, const std::string& embed,
                                      int threads_each, const std::string& idle_rerank = "") {
    if (threads_each > 0) setenv("XINFER_CPU_CORES", std::to_string(threads_each * 2).c_str(), 1);
    else unsetenv("XINFER_CPU_CORES");
    auto svc = std::make_unique<bench::Service>(bin);
    unsetenv("XINFER_CPU_CORES");
    json c = {{"model_name", "chat"}, {"model_path", chat}}, e = {{"model_name", "embed"}, {"model_type", "embedding"}, {"model_path", embed}};
    if (threads_each > 0) c["n_threads"] = e["n_threads"] = threads_each;
    svc->launch(c);
    svc->launch(e);
    if (!idle_rerank.empty()) {  // on shared cores: the budget is spent by now
        svc->launch({{"model_name", "rerank-idle"}, {"model_type", "rerank"}, {"model_path", idle_rerank}});
        svc->launch({{"model_name", "chat-idle"}, {"model_path", chat}});
    }
    return svc;
}

// Two chat clients and four embedding clients (batch 8) for `seconds`, all through the service.
Throughput load(const bench::Service& svc, double seconds) {
    std::atomic<long> tokens{0}, embeddings{0};
    const auto began = Clock::now();
    const auto deadline = began + std::chrono::duration<double>(seconds);
    std::vector<std::thread> clients;
    for (int w = 0; w < 2; ++w)
        clients.emplace_back([&, w] {
            for (int i = 0; Clock::now() < deadline; ++i) {
                json body = {{"model", "chat"}, {"messages", {{{"role", "user"}, {"content", "story " + std::to_string(w * 1000 + i)}}}},
                             {"max_tokens", 32}, {"ignore_eos", true}};
                auto r = json::parse(bench::post_or_die(svc.front(), "/v1/chat/completions", body.dump()));
                tokens += r["usage"]["completion_tokens"].get<long>();
            }
        });
    for (int w = 0; w < 4; ++w)
        clients.emplace_back([&, w] {
            for (int i = 0; Clock::now() < deadline; ++i) {
                json texts = json::array();
                for (int k = 0; k < 8; ++k) texts.push_back("document " + std::to_string(w * 10000 + i * 8 + k) + " about search");
                bench::post_or_die(svc.front(), "/v1/embeddings", json{{"model", "embed"}, {"input", texts}}.dump());
                embeddings += 8;
            }
        });
    for (auto& t : clients) t.join();
    // The last requests finish after the deadline: divide by the time really taken.
    const double took = std::chrono::duration<double>(Clock::now() - began).count();
    return {tokens / took, embeddings / took};
}

Throughput median_of(const std::vector<Throughput>& runs) {
    std::vector<double> c, e;
    for (auto& r : runs) c.push_back(r.chat_tokens_per_s), e.push_back(r.embeddings_per_s);
    return {bench::median(c), bench::median(e)};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s XINFER_BIN CHAT.gguf EMBED.gguf [seconds=8] [rounds=3] [RERANK.gguf]\n", argv[0]);
        return 2;
    }
    const double seconds = argc > 4 ? std::stod(argv[4]) : 8;
    const int rounds = argc > 5 ? std::max(1, std::stoi(argv[5])) : 3;
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    setvbuf(stdout, nullptr, _IOLBF, 0);

    std::vector<Config> configs;
    // The reference: each engine with every core, as it would run started by hand.
    configs.push_back({"each engine on all cores", start(argv[1], argv[2], argv[3], cores), {}});
    configs.push_back({"xinfer thread budget", start(argv[1], argv[2], argv[3], 0), {}});
    if (argc > 6) configs.push_back({"budget + idle rerank, chat", start(argv[1], argv[2], argv[3], 0, argv[6]), {}});
    for (auto& c : configs) load(*c.svc, std::min(1.0, seconds));  // warm-up: first requests, caches

    std::printf("co-location benchmark: chat (2 clients) + embeddings (4 clients, batch 8), %.0f s windows, %d rounds, %d cores\n",
                seconds, rounds, cores);
    for (int r = 0; r < rounds; ++r)
        for (size_t k = 0; k < configs.size(); ++k) {
            Config& c = configs[(k + r) % configs.size()];  // rotate which goes first
            c.runs.push_back(load(*c.svc, seconds));
            std::printf("  round %d  %-28s chat %8.1f tok/s  embeddings %8.1f/s\n", r + 1, c.name,
                        c.runs.back().chat_tokens_per_s, c.runs.back().embeddings_per_s);
        }

    std::printf("%-28s %16s %16s   (medians)\n", "", "chat tokens/s", "embeddings/s");
    for (auto& c : configs) {
        Throughput m = median_of(c.runs);
        std::printf("%-28s %16.1f %16.1f\n", c.name, m.chat_tokens_per_s, m.embeddings_per_s);
    }
    const Throughput all = median_of(configs[0].runs), budget = median_of(configs[1].runs);
    std::printf("ratio budget / all-cores: chat %.2f, embeddings %.2f\n", budget.chat_tokens_per_s / all.chat_tokens_per_s,
                budget.embeddings_per_s / all.embeddings_per_s);
    if (configs.size() > 2) {
        const Throughput stack = median_of(configs[2].runs);
        std::printf("ratio with idle shared-core engines / budget: chat %.2f, embeddings %.2f\n",
                    stack.chat_tokens_per_s / budget.chat_tokens_per_s, stack.embeddings_per_s / budget.embeddings_per_s);
    }
    return 0;
}
