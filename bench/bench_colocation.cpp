// Co-location benchmark: a chat model and an embedding model under load at the same time, once
// with xinfer's CPU thread budget (each engine gets its share of the cores) and once without
// (each engine takes every core, as engines do on their own), and the throughput ratio.
// llama.cpp's worker threads spin while waiting; oversubscribed cores make both models slower.
// With RERANK.gguf, a third run adds the rest of a small deployment's stack (a reranker and a
// second chat model, launched after the budget is spent, so on shared cores) left idle: the
// shared budget's promise is that idle engines cost the busy ones nothing.
//
//   bench_colocation XINFER_BIN CHAT.gguf EMBED.gguf [seconds=8] [RERANK.gguf]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_harness.h"
#include "common/http_client.h"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Throughput {
    double chat_tokens_per_s, embeddings_per_s;
};

Throughput run(const std::string& bin, const std::string& chat, const std::string& embed, int threads_each,
               double seconds, const std::string& idle_rerank = "") {
    if (threads_each > 0) setenv("XINFER_CPU_CORES", std::to_string(threads_each * 2).c_str(), 1);
    else unsetenv("XINFER_CPU_CORES");
    bench::Service svc(bin);
    json c = {{"model_name", "chat"}, {"model_path", chat}}, e = {{"model_name", "embed"}, {"model_type", "embedding"}, {"model_path", embed}};
    if (threads_each > 0) c["n_threads"] = e["n_threads"] = threads_each;
    svc.launch(c);
    svc.launch(e);
    if (!idle_rerank.empty()) {  // on shared cores: the budget is spent by now
        svc.launch({{"model_name", "rerank-idle"}, {"model_type", "rerank"}, {"model_path", idle_rerank}});
        svc.launch({{"model_name", "chat-idle"}, {"model_path", chat}});
    }
    std::atomic<bool> stop{false};
    std::atomic<long> tokens{0}, embeddings{0};
    auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
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
    return {tokens / seconds, embeddings / seconds};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s XINFER_BIN CHAT.gguf EMBED.gguf [seconds=8]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 4 ? std::stod(argv[4]) : 8;
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    // Without the budget: each engine runs with every core, as it would started by hand.
    Throughput free_for_all = run(argv[1], argv[2], argv[3], cores, seconds);
    // With the budget: xinfer's defaults on this machine's real cores.
    Throughput budget = run(argv[1], argv[2], argv[3], 0, seconds);
    std::printf("co-location benchmark: chat (2 clients) + embeddings (4 clients, batch 8) for %.0f s each, %d cores\n",
                seconds, cores);
    std::printf("%-28s %16s %16s\n", "", "chat tokens/s", "embeddings/s");
    std::printf("%-28s %16.1f %16.1f\n", "each engine on all cores", free_for_all.chat_tokens_per_s, free_for_all.embeddings_per_s);
    std::printf("%-28s %16.1f %16.1f\n", "xinfer thread budget", budget.chat_tokens_per_s, budget.embeddings_per_s);
    std::printf("ratio budget / all-cores: chat %.2f, embeddings %.2f\n", budget.chat_tokens_per_s / free_for_all.chat_tokens_per_s,
                budget.embeddings_per_s / free_for_all.embeddings_per_s);
    if (argc > 5) {
        Throughput stack = run(argv[1], argv[2], argv[3], 0, seconds, argv[5]);
        std::printf("%-28s %16.1f %16.1f\n", "+ idle rerank, chat (shared)", stack.chat_tokens_per_s, stack.embeddings_per_s);
        std::printf("ratio with idle shared-core engines / budget: chat %.2f, embeddings %.2f\n",
                    stack.chat_tokens_per_s / budget.chat_tokens_per_s, stack.embeddings_per_s / budget.embeddings_per_s);
    }
    return 0;
}
