// Embedding and rerank benchmark: texts per second three ways, interleaved in one run: straight
// to llama-server started by hand (as xinfer ran encoders before its own engine), through llama.cpp's own router
// (`llama-server --models-preset`, same flags), and through xinfer. Goals: xinfer >= 1.0x direct
// at one client and >= 1.3x at 8-64 clients sending one text each (xinfer merges requests that
// arrive together into one engine call). Also what JSON floats cost against base64.
//
//   bench_embeddings XINFER_BIN EMBED.gguf RERANK.gguf [rounds=3] [scale=1]
// scale divides the request counts (use 10 for a bge-small-sized model: each request is ~10x slower).
// The clients are driven from one thread (post_driver.h), so the load generator takes little of
// the cores that the servers compete for.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_harness.h"
#include "post_driver.h"
#include "common/http_client.h"
#include "common/paths.h"

using json = nlohmann::json;

namespace {

json texts(int n, int salt) {
    json a = json::array();
    for (int i = 0; i < n; ++i)
        a.push_back("Document " + std::to_string(salt * 100 + i) +
                    ": xinfer serves embeddings for search over the team's knowledge base, in several languages.");
    return a;
}

struct Case {
    const char* name;
    int batch, concurrency, per_worker;
    const char* encoding;
    double goal;  // xinfer / direct (0: shown, not a goal)
    bool keep_alive = false;  // each client keeps its connection (else a new one per request)
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s XINFER_BIN EMBED.gguf RERANK.gguf [rounds=3] [scale=1]\n", argv[0]);
        return 2;
    }
    int rounds = argc > 4 ? std::stoi(argv[4]) : 3;
    const int scale = argc > 5 ? std::max(1, std::stoi(argv[5])) : 1;
    bench::Service svc(argv[1]);
    json extra = json::parse(getenv("BENCH_ENGINE_OPTIONS") ? getenv("BENCH_ENGINE_OPTIONS") : "{}");
    json eb = {{"model_uid", "embed"}, {"model_name", "embed"}, {"model_type", "embedding"}, {"model_path", argv[2]}};
    eb.update(extra);
    const std::string embed = svc.launch(eb);
    const std::string rerank =
        svc.launch({{"model_uid", "rerank"}, {"model_name", "rerank"}, {"model_type", "rerank"}, {"model_path", argv[3]}});
    // The references: llama-server started by hand, and llama.cpp's router, with the flags and
    // threads of xinfer's replicas (which run in xinfer's model host on libllama).
    const std::string llama_server = (std::filesystem::path(argv[1]).parent_path() / "llama-server").string();
    const auto embed_args = bench::llama_server_encoder_args(svc.front(), "embed");
    const auto rerank_args = bench::llama_server_encoder_args(svc.front(), "rerank");
    bench::Engine embed_direct(llama_server, embed_args), rerank_direct(llama_server, rerank_args);
    bench::Router router(llama_server, {{"embed", embed_args}, {"rerank", rerank_args}});
    setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("embedding/rerank benchmark, %d rounds, medians (texts/s); direct = llama-server %s\n", rounds, embed_direct.address().c_str());
    std::printf("%-36s %10s %10s %10s %9s %9s %13s %11s\n", "case", "direct", "router", "xinfer", "x/direct", "x/router",
                "x/direct ci", "rounds");

    const Case cases[] = {{"1 text, 1 client", 1, 1, 400, "float", 1.0},
                          {"1 text each, 8 clients", 1, 8, 100, "float", 1.3},
                          {"1 text each, 32 clients", 1, 32, 25, "float", 1.3},
                          {"1 text each, 64 clients", 1, 64, 12, "float", 1.3},
                          {"batch 32, 1 client", 32, 1, 24, "float", 0.95},
                          {"batch 32, 16 clients", 32, 16, 3, "float", 0.95},
                          {"batch 32, 1 client, base64", 32, 1, 24, "base64", 0.95},
                          // Clients that keep their connection, as the OpenAI SDK's does (no more
                          // clients than llama-server's 16 HTTP threads: each holds one while open).
                          {"1 text, 1 client, kept alive", 1, 1, 400, "float", 0, true},
                          {"1 text each, 8 clients, kept alive", 1, 8, 100, "float", 0, true}};
    bool ok = true;
    double float_rate = 0, b64_rate = 0;
    // Medians of each path's rounds; xinfer's ratios are the medians of the round-by-round ratios
    // (bench::round_ratios), with the confidence range of the one to direct and its single rounds.
    auto row = [&](const std::string& name, const std::vector<std::vector<double>>& rounds_by_path, double goal) {
        std::vector<double> m;
        for (const auto& v : rounds_by_path) m.push_back(bench::median(v));
        const bench::RatioSpread direct = bench::round_ratios(rounds_by_path[2], rounds_by_path[0]);
        const bench::RatioSpread router = bench::round_ratios(rounds_by_path[2], rounds_by_path[1]);
        std::printf("%-36s %10.1f %10.1f %10.1f %9.3f %9.3f %6.2f-%-6.2f %5.2f-%-5.2f\n", name.c_str(), m[0], m[1], m[2], direct.median,
                    router.median, direct.ci_low, direct.ci_high, direct.low, direct.high);
        ok = ok && (goal == 0 || direct.median >= goal);
        return m;
    };
    // BENCH_ONLY=TEXT runs only the cases whose name holds TEXT (to study one).
    const std::string only = getenv("BENCH_ONLY") ? getenv("BENCH_ONLY") : "";
    auto wanted = [&](const std::string& name) { return only.empty() || name.find(only) != std::string::npos; };
    // The clients: one thread driving every connection (post_driver.h), or with BENCH_CLIENT=threads
    // a thread and an httplib client per client (as before 2026-12-05: ~130 us of CPU a request,
    // taken from the servers on a small machine).
    const bool thread_clients = xinfer::env_or("BENCH_CLIENT") == "threads";
    // BENCH_PATH=0|1|2 measures only direct, router or xinfer (the others print 0): to profile one.
    const int only_path = getenv("BENCH_PATH") ? std::atoi(getenv("BENCH_PATH")) : -1;
    for (const Case& c : cases) {
        if (!wanted(c.name)) continue;
        const int per_worker = std::max(1, c.per_worker / scale);
        auto body = [&](int w, int i) {
            return json{{"model", "embed"}, {"input", c.batch == 1 ? json(texts(1, w * 1000 + i)[0]) : texts(c.batch, w * 1000 + i)},
                        {"encoding_format", c.encoding}}.dump();
        };
        auto rate = [&](int path, int requests) -> double {
            if (only_path >= 0 && path != only_path) return 0;
            const std::string& address = path == 0 ? embed_direct.address() : path == 1 ? router.address() : svc.front();
            const double texts = static_cast<double>(c.concurrency) * requests * c.batch;
            if (thread_clients) {
                std::vector<std::unique_ptr<httplib::Client>> kept(c.concurrency);
                for (auto& k : kept)
                    if (c.keep_alive) (k = xinfer::make_client(address))->set_keep_alive(true);
                return texts / bench::run_concurrent(c.concurrency, requests, [&](int w, int i) {
                    if (c.keep_alive) bench::post_or_die(*kept[w], "/v1/embeddings", body(w, i));
                    else bench::post_or_die(address, "/v1/embeddings", body(w, i));
                });
            }
            std::vector<std::vector<std::string>> bodies(c.concurrency);
            for (int w = 0; w < c.concurrency; ++w)
                for (int i = 0; i < requests; ++i) bodies[w].push_back(body(w, i));
            return texts / bench::drive_posts(address, "/v1/embeddings", bodies, c.keep_alive);
        };
        const auto m = row(c.name, bench::interleaved_rounds(rounds, per_worker, 3, rate), c.goal);
        if (c.batch == 32 && c.concurrency == 1) (std::string(c.encoding) == "float" ? float_rate : b64_rate) = m[2];
    }

    // Rerank: one query against 16 documents per request (a batch), and against one document per
    // request from 1 to 64 clients (the one-text goals, as for embeddings).
    struct RerankCase {
        int docs, concurrency, requests;
        double goal;
    };
    const RerankCase rerank_cases[] = {{16, 1, 48, 0.95}, {16, 8, 6, 0.95}, {1, 1, 400, 1.0},
                                       {1, 8, 100, 1.3},  {1, 32, 25, 1.3}, {1, 64, 12, 1.3}};
    for (const RerankCase& c : rerank_cases) {
        const std::string name = c.docs == 1 ? "rerank 1 doc" + std::string(c.concurrency > 1 ? " each, " : ", ") +
                                                   std::to_string(c.concurrency) + (c.concurrency > 1 ? " clients" : " client")
                                             : "rerank " + std::to_string(c.docs) + " docs, " + std::to_string(c.concurrency) +
                                                   " client(s)";
        if (!wanted(name)) continue;
        const int per_worker = std::max(1, c.requests / scale);
        auto rate = [&](int path, int requests) -> double {
            if (only_path >= 0 && path != only_path) return 0;
            const std::string& address = path == 0 ? rerank_direct.address() : path == 1 ? router.address() : svc.front();
            std::vector<std::vector<std::string>> bodies(c.concurrency);
            for (int w = 0; w < c.concurrency; ++w)
                for (int i = 0; i < requests; ++i)
                    bodies[w].push_back(json{{"model", "rerank"}, {"query", "which document is about search?"},
                                             {"documents", texts(c.docs, c.docs == 16 ? 7 : w * 1000 + i)}}.dump());
            return static_cast<double>(c.concurrency) * requests * c.docs / bench::drive_posts(address, "/v1/rerank", bodies, false);
        };
        row(name, bench::interleaved_rounds(rounds, per_worker, 3, rate), c.goal);
    }
    if (float_rate > 0 && b64_rate > 0)  // both measured (not left out by BENCH_ONLY)
        std::printf("JSON floats vs base64 through xinfer (batch 32): %.1f vs %.1f texts/s (float costs %.1f%%)\n", float_rate,
                    b64_rate, 100.0 * (1 - float_rate / b64_rate));
    std::printf("%s\n", ok ? "within goals (1 client >= 1.0x direct, 8-64 clients >= 1.3x, batches >= 0.95x; embeddings and rerank)" : "OUTSIDE GOALS");
    return 0;
}
