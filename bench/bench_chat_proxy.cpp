// Chat benchmark: what does going through xinfer cost, compared with talking to llama-server
// directly? Starts `xinfer serve`, launches one model, then sends the same streaming chat
// requests (a) to llama-server started by hand on a TCP port with the flags of xinfer's replica
// (as a user without xinfer runs it), (b) through llama.cpp's router with the same flags, (c)
// through xinfer, and (d) to xinfer's own replica over its unix socket (the engine xinfer
// relays, without the gateway: what the relay itself costs), at concurrency 1, 4 and 16,
// changing the order each round so machine drift hits all alike. Prints throughput, time to first token,
// and the ratios. Not a test: numbers depend on the machine.
//
//   bench_chat_proxy XINFER_BIN MODEL.gguf [rounds=3] [tokens=64] [max_concurrency=16]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_harness.h"
#include "common/http_client.h"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Sample {
    double ttft_ms;
    int tokens;
};

// One streaming chat request; returns time to the first content chunk and chunks with content.
Sample one_request(const std::string& address, const std::string& model, int tokens, int salt) {
    auto client = xinfer::make_client(address);
    client->set_read_timeout(300, 0);
    json body = {{"model", model},
                 {"messages", {{{"role", "user"}, {"content", "Write a story about request " + std::to_string(salt)}}}},
                 {"max_tokens", tokens}, {"stream", true}, {"temperature", 0.8}, {"seed", salt}, {"ignore_eos", true}};
    auto t0 = Clock::now();
    auto h = client->open_stream("POST", "/v1/chat/completions", {}, {}, body.dump(), "application/json");
    Sample s{-1, 0};
    // A failed request is a broken benchmark, not a slow one: stop with the reason.
    if (!h.response || h.response->status != 200) {
        std::fprintf(stderr, "request to %s failed: %s\n", address.c_str(),
                     h.response ? std::to_string(h.response->status).c_str() : httplib::to_string(h.error).c_str());
        std::exit(1);
    }
    bool done = false;
    std::string buf;
    char chunk[8192];
    for (ssize_t n; (n = h.read(chunk, sizeof chunk)) > 0;) {
        buf.append(chunk, static_cast<size_t>(n));
        for (size_t end; (end = buf.find("\n\n")) != std::string::npos; buf.erase(0, end + 2)) {
            std::string ev = buf.substr(0, end);
            done |= ev == "data: [DONE]";
            if (ev.find("\"content\":\"") == std::string::npos) continue;
            if (s.ttft_ms < 0) s.ttft_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
            s.tokens++;
        }
    }
    if (!done || s.tokens == 0) {
        std::fprintf(stderr, "stream from %s ended early (%d tokens, no [DONE])\n", address.c_str(), s.tokens);
        std::exit(1);
    }
    return s;
}

struct Result {
    double tok_per_s, ttft_p50_ms;
    int tokens;
};

// CPU seconds a process has used (user + system), from /proc.
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i)
        if (i == 14 || i == 15) ticks += std::stod(field);
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// `salt` makes every request's prompt its own: two paths to the same engine (xinfer and its
// socket) must not find each other's prompts in the engine's cache.
Result run(const std::string& address, const std::string& model, int concurrency, int per_worker, int tokens, int salt) {
    std::vector<std::vector<Sample>> per(concurrency);
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < concurrency; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < per_worker; ++i) per[w].push_back(one_request(address, model, tokens, salt + w * 1000 + i));
        });
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> ttft;
    int total = 0;
    for (auto& v : per)
        for (auto& s : v) {
            total += s.tokens;
            if (s.ttft_ms >= 0) ttft.push_back(s.ttft_ms);
        }
    std::sort(ttft.begin(), ttft.end());
    return {total / secs, ttft.empty() ? -1 : ttft[ttft.size() / 2], total};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s XINFER_BIN MODEL.gguf [rounds=3] [tokens=64] [max_concurrency=16]\n", argv[0]);
        return 2;
    }
    std::string model_path = std::filesystem::absolute(argv[2]).string();
    int rounds = argc > 3 ? std::stoi(argv[3]) : 3;
    int tokens = argc > 4 ? std::stoi(argv[4]) : 64;
    const int max_conc = argc > 5 ? std::stoi(argv[5]) : 16;
    bench::Service svc(argv[1]);
    // The engine gets every core, as llama-server started by hand would (all paths share it).
    // BENCH_ENGINE_OPTIONS (JSON) adds engine options to the launch; every path gets the same flags.
    nlohmann::json launch = {{"model_uid", "bench"}, {"model_name", "bench"}, {"model_path", model_path},
                             {"n_threads", static_cast<int>(std::thread::hardware_concurrency())}};
    launch.update(nlohmann::json::parse(getenv("BENCH_ENGINE_OPTIONS") ? getenv("BENCH_ENGINE_OPTIONS") : "{}"));
    const std::string replica = svc.launch(launch);
    const std::string front = svc.front();
    const std::string llama_server = (std::filesystem::path(argv[1]).parent_path() / "llama-server").string();
    const auto args = bench::engine_args(front, "bench");
    bench::Engine direct(llama_server, args);
    bench::Router router(llama_server, {{"bench", args}});

    std::printf("chat proxy benchmark: %s, %d tokens per streamed request, %d rounds (order changing each round)\n"
                "direct = llama-server by hand at %s; socket = xinfer's replica at %s\n",
                model_path.c_str(), tokens, rounds, direct.address().c_str(), replica.c_str());
    constexpr int kPaths = 4;
    const std::string paths[kPaths] = {direct.address(), router.address(), front, replica};
    const char* names[kPaths] = {"direct", "router", "xinfer", "socket"};
    // The k-th path of round r: each round starts at the next path and goes on 0, +1, -1, +2
    // from it (a balanced Latin square): over four rounds each path runs once right after each
    // other one, so no path always follows the same one (whose engine may still be winding down).
    auto path_at = [](int r, int k) {
        static constexpr int step[kPaths] = {0, 1, kPaths - 1, 2};
        return (r + step[k]) % kPaths;
    };
    // BENCH_PATHS="direct,xinfer" measures only those paths (the others' figures read 0), to
    // compare two with more rounds in the same time.
    const std::string only_paths = getenv("BENCH_PATHS") ? std::string(",") + getenv("BENCH_PATHS") + "," : "";
    bool measured[kPaths];
    for (int p = 0; p < kPaths; ++p) measured[p] = only_paths.empty() || only_paths.find(std::string(",") + names[p] + ",") != std::string::npos;
    for (int p = 0; p < kPaths; ++p) run(paths[p], "bench", 2, 2, 8, 900000000 + p * 100000);  // warm-up
    std::printf("%-11s %-8s %12s %14s\n", "concurrency", "path", "tokens/s", "TTFT p50 ms");
    bool ok = true;
    // BENCH_CONCURRENCY="16" (or "1,4") runs only those client counts, to study one.
    const std::string only = getenv("BENCH_CONCURRENCY") ? std::string(",") + getenv("BENCH_CONCURRENCY") + "," : "";
    for (int conc : {1, 4, 16}) {
        if (conc > max_conc) break;
        if (!only.empty() && only.find("," + std::to_string(conc) + ",") == std::string::npos) continue;
        std::vector<double> tps[kPaths], ttft[kPaths];
        // A request a client a path a round, so four times the rounds (twice at 16 clients, whose
        // rounds already hold four waves of requests for the engine's four slots): the speed of this
        // small machine moves by 5-10 % from one request to the next and by up to 50 % over
        // seconds (other guests on the host); the finer the paths take turns, the more of that a
        // pair of rounds shares, and the closer their ratio.
        const int per_worker = 1;
        const int conc_rounds = rounds * (conc >= 16 ? 2 : 4);
        double gateway_cpu = 0;  // what the xinfer process spent relaying, per token
        long relayed = 0;
        for (int r = 0; r < conc_rounds; ++r)
            for (int k = 0; k < kPaths; ++k) {
                const int p = path_at(r, k);
                if (!measured[p]) continue;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the last path's engine quiet again
                const double cpu0 = p == 2 ? cpu_seconds(svc.pid()) : 0;
                Result x = run(paths[p], "bench", conc, per_worker, tokens, ((conc * 100 + r) * kPaths + p) * 100000);
                if (p == 2) gateway_cpu += cpu_seconds(svc.pid()) - cpu0, relayed += x.tokens;
                tps[p].push_back(x.tok_per_s);
                ttft[p].push_back(x.ttft_p50_ms);
            }
        double t[kPaths], f[kPaths];
        for (int p = 0; p < kPaths; ++p) {
            t[p] = bench::median(tps[p]);
            f[p] = bench::median(ttft[p]);
            std::printf("%-11d %-8s %12.1f %14.2f\n", conc, names[p], t[p], f[p]);
        }
        // The figures are medians of the round-by-round ratios (paths of a round ran back to back).
        const bench::RatioSpread direct = bench::round_ratios(tps[2], tps[0]);
        std::printf("  concurrency %d: xinfer/direct = %.3f (goal >= 0.99; %.0f%% range %.3f-%.3f, single rounds %.3f-%.3f), "
                    "xinfer/router = %.3f, added TTFT = %+.2f ms\n",
                    conc, direct.median, 100 * direct.confidence, direct.ci_low, direct.ci_high, direct.low, direct.high,
                    bench::round_ratios(tps[2], tps[1]).median, f[2] - f[0]);
        std::printf("  xinfer process CPU: %.1f us per relayed token; xinfer / its engine over the unix socket = %.3f\n",
                    1e6 * gateway_cpu / std::max(1L, relayed), bench::round_ratios(tps[2], tps[3]).median);
        ok = ok && direct.median >= 0.99;
    }
    // Time to first token, one client, many short requests with the paths taking turns request
    // by request: the throughput rounds above see a handful of first tokens each, whose medians
    // move by milliseconds between runs on a small machine.
    if (only.empty() || only.find(",1,") != std::string::npos) {
        std::vector<double> first[kPaths];
        const int requests = 8 * rounds;
        for (int i = 0; i < requests; ++i)
            for (int k = 0; k < kPaths; ++k) {
                const int p = path_at(i, k);
                if (!measured[p]) continue;
                // A pause first: each engine's threads spin a while after their last request,
                // which would slow the next path's request to a different engine.
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                first[p].push_back(one_request(paths[p], "bench", 2, 700000000 + i * kPaths + p).ttft_ms);
            }
        double m[kPaths];
        for (int p = 0; p < kPaths; ++p) m[p] = bench::median(first[p]);
        std::printf("time to first token, 1 client, %d requests a path, medians: direct %.2f, router %.2f, xinfer %.2f, socket %.2f ms; "
                    "added by xinfer %+.2f ms (goal < 0.5), by its gateway %+.2f ms\n",
                    requests, m[0], m[1], m[2], m[3], m[2] - m[0], measured[3] ? m[2] - m[3] : NAN);  // NAN: the socket not measured
        ok = ok && m[2] - m[0] < 0.5;
    }
    std::printf("%s\n", ok ? "within goals" : "OUTSIDE GOALS");
    return 0;
}
