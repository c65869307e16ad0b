// Embedding and rerank benchmark: texts per second straight to llama-server and through xinfer,
// interleaved in one run, with the ratio (goal >= 0.95). Also measures what JSON floats cost
// against base64 (the float-to-text encoding every embedding server pays; xinfer forwards the
// engine's bytes untouched, so it adds none of its own).
//
//   bench_embeddings XINFER_BIN EMBED.gguf RERANK.gguf [rounds=3] [scale=1]
// scale divides the request counts (use 10 for a bge-small-sized model: each request is ~10x slower).
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_harness.h"

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
    json eb = {{"model_name", "embed"}, {"model_type", "embedding"}, {"model_path", argv[2]}};
    eb.update(extra);
    std::string embed = svc.launch(eb);
    std::string rerank = svc.launch({{"model_name", "rerank"}, {"model_type", "rerank"}, {"model_path", argv[3]}});
    setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("embedding/rerank benchmark, %d rounds, medians; engine %s\n", rounds, embed.c_str());
    std::printf("%-34s %12s %12s %8s %14s\n", "case", "direct/s", "xinfer/s", "ratio", "added us/req");

    const Case cases[] = {{"embed batch 1, concurrency 1", 1, 1, 400, "float"},
                          {"embed batch 1, concurrency 16", 1, 16, 50, "float"},
                          {"embed batch 32, concurrency 1", 32, 1, 24, "float"},
                          {"embed batch 32, concurrency 16", 32, 16, 3, "float"},
                          {"embed batch 32, concurrency 1, b64", 32, 1, 24, "base64"}};
    bool ok = true;
    double float_rate = 0, b64_rate = 0;
    for (const Case& c : cases) {
        const int per_worker = std::max(1, c.per_worker / scale);
        auto body = [&](int w, int i) {
            return json{{"model", "embed"}, {"input", c.batch == 1 ? json(texts(1, w * 1000 + i)[0]) : texts(c.batch, w * 1000 + i)},
                        {"encoding_format", c.encoding}}.dump();
        };
        const int n = c.concurrency * per_worker * c.batch;
        auto rate = [&](int path, int requests) {
            const std::string& address = path == 0 ? embed : svc.front();
            return n / bench::run_concurrent(c.concurrency, requests, [&](int w, int i) {
                bench::post_or_die(address, "/v1/embeddings", body(w, i));
            });
        };
        const bench::PairedRates m = bench::interleaved_medians(rounds, per_worker, rate);
        const double dm = m.reference, xm = m.xinfer;
        // Added time per request, with concurrency accounted: what the extra hop costs in itself.
        double added_us = (c.batch / xm - c.batch / dm) * c.concurrency * 1e6;
        std::printf("%-34s %12.1f %12.1f %8.3f %14.0f\n", c.name, dm, xm, xm / dm, added_us);
        ok = ok && xm / dm >= 0.95;
        if (c.batch == 32 && c.concurrency == 1) (std::string(c.encoding) == "float" ? float_rate : b64_rate) = xm;
    }

    // Rerank: one query against 16 documents per request.
    json docs = texts(16, 7);
    std::string rbody = json{{"model", "rerank"}, {"query", "which document is about search?"}, {"documents", docs}}.dump();
    for (int conc : {1, 4}) {
        const int per_worker = 48 / conc;
        auto rate = [&](int path, int requests) {
            const std::string& address = path == 0 ? rerank : svc.front();
            return conc * requests * 16 /
                   bench::run_concurrent(conc, requests, [&](int, int) { bench::post_or_die(address, "/v1/rerank", rbody); });
        };
        const bench::PairedRates m = bench::interleaved_medians(rounds, per_worker, rate);
        const double dm = m.reference, xm = m.xinfer;
        std::printf("%-34s %12.1f %12.1f %8.3f %14.0f\n", (std::string("rerank 16 docs, concurrency ") + std::to_string(conc)).c_str(),
                    dm, xm, xm / dm, (16 / xm - 16 / dm) * conc * 1e6);
        ok = ok && xm / dm >= 0.95;
    }
    std::printf("JSON floats vs base64 through xinfer (batch 32): %.1f vs %.1f texts/s (float costs %.1f%%)\n", float_rate,
                b64_rate, 100.0 * (1 - float_rate / b64_rate));
    std::printf("%s\n", ok ? "within goals (>= 0.95 of direct)" : "OUTSIDE GOALS");
    return 0;
}
