// The service process's own footprint: RSS idle, during load (chat streams, large uploads, large
// embedding batches) and once the load is over and the models are terminated (goals: idle
// < 15 MB; after load within 5 MB of idle); its cold start to /status (goal < 100 ms); and the
// time from launch to a ready chat model against starting llama-server by hand with the same
// flags (goal <= 1.2x).
//
//   bench_memory XINFER_BIN CHAT.gguf EMBED.gguf [streams=256] [upload_mb=100]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_harness.h"
#include "common/http_client.h"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Resident memory of a process, MiB (VmRSS).
double rss_mb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

int threads_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    return 0;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Time for llama-server, started by hand with the flags xinfer gave the replica, to answer
// /health; -1 when it did not (it exited: the port, free a moment ago, was taken first).
double try_llama_server_by_hand_ms(const std::string& llama_server, std::vector<std::string> args) {
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--host") args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    const int port = xinfer::free_loopback_port();
    args.insert(args.end(), {"--host", "127.0.0.1", "--port", std::to_string(port)});
    const auto t0 = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(126);
        std::vector<char*> argv{const_cast<char*>(llama_server.c_str())};
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(llama_server.c_str(), argv.data());
        _exit(127);
    }
    auto c = xinfer::make_client("127.0.0.1:" + std::to_string(port));
    c->set_read_timeout(2, 0);  // whatever took the port may never answer
    double ms = -1;
    bool exited = false;
    // A minute at most: on a port something else took (tests run side by side), each try may
    // wait its whole read timeout, and 60000 of them would outlast any test's limit.
    const auto deadline = t0 + std::chrono::seconds(60);
    for (int i = 0; i < 60000 && ms < 0 && !exited && Clock::now() < deadline; ++i) {
        auto r = c->Get("/health");
        if (r && r->status == 200) ms = ms_since(t0);
        else std::this_thread::sleep_for(std::chrono::milliseconds(1));
        exited = waitpid(pid, nullptr, WNOHANG) == pid;
    }
    if (!exited) {
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
    }
    return ms;
}

double llama_server_by_hand_ms(const std::string& llama_server, const std::vector<std::string>& args) {
    for (int attempt = 0; attempt < 3; ++attempt)
        if (const double ms = try_llama_server_by_hand_ms(llama_server, args); ms >= 0) return ms;
    std::fprintf(stderr, "llama-server started by hand did not become ready (3 tries)\n");
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s XINFER_BIN CHAT.gguf EMBED.gguf [streams=256] [upload_mb=100]\n", argv[0]);
        return 2;
    }
    const int streams = argc > 4 ? std::stoi(argv[4]) : 256;
    const int upload_mb = argc > 5 ? std::stoi(argv[5]) : 100;
    setvbuf(stdout, nullptr, _IOLBF, 0);
    bench::Service svc(argv[1]);
    const pid_t pid = svc.pid();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double idle = rss_mb(pid);
    std::printf("cold start to /status: %.1f ms (goal < 100)\n", svc.start_ms());
    std::printf("idle: %.1f MiB RSS, %d threads (goal < 15 MiB)\n", idle, threads_of(pid));

    // Launch to ready, against llama-server by hand with the same flags: 3 rounds, alternating
    // which goes first (the first start of all reads the model and libraries from disk), medians.
    const std::string llama_server = (std::filesystem::path(argv[1]).parent_path() / "llama-server").string();
    std::vector<double> launch_ms, by_hand_ms;
    auto api = xinfer::make_client(svc.front());
    for (int round = 0; round < 3; ++round) {
        const std::string uid = "launch-" + std::to_string(round);
        auto ours = [&] {
            const auto t0 = Clock::now();
            svc.launch({{"model_uid", uid}, {"model_name", uid}, {"model_path", argv[2]}});
            launch_ms.push_back(ms_since(t0));
        };
        if (round % 2 == 0) ours();
        if (round == 0) by_hand_ms.push_back(llama_server_by_hand_ms(llama_server, bench::engine_args(svc.front(), uid)));
        else by_hand_ms.push_back(llama_server_by_hand_ms(llama_server, bench::engine_args(svc.front(), "launch-0")));
        if (round % 2 == 1) ours();
        if (round > 0) api->Delete("/v1/models/" + uid);
    }
    api->Delete("/v1/models/launch-0");
    const double launch_ratio = bench::median(launch_ms) / bench::median(by_hand_ms);
    std::printf("launch to ready chat model (medians of 3): xinfer %.0f ms, llama-server by hand %.0f ms, ratio %.2f (goal <= 1.2)\n",
                bench::median(launch_ms), bench::median(by_hand_ms), launch_ratio);
    svc.launch({{"model_uid", "chat"}, {"model_name", "chat"}, {"model_path", argv[2]}});
    svc.launch({{"model_uid", "embed"}, {"model_name", "embed"}, {"model_type", "embedding"}, {"model_path", argv[3]}});

    std::atomic<bool> sampling{true};
    std::atomic<double> peak{0};
    std::thread sampler([&] {
        while (sampling) {
            const double r = rss_mb(pid);
            if (r > peak) peak = r;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    auto phase = [&](const char* name, const std::function<void()>& load) {
        peak = 0;
        const auto t0 = Clock::now();
        load();
        std::printf("  %-44s peak %6.1f MiB, %.1f s\n", name, peak.load(), ms_since(t0) / 1000);
    };
    std::printf("under load (RSS of the xinfer process):\n");
    phase((std::to_string(streams) + " chat streams, 16 at a time").c_str(), [&] {
        const std::string body = json{{"model", "chat"}, {"messages", {{{"role", "user"}, {"content", "hello there"}}}},
                                      {"max_tokens", 16}, {"stream", true}}.dump();
        bench::run_concurrent(16, std::max(1, streams / 16), [&](int, int) { bench::post_or_die(svc.front(), "/v1/chat/completions", body); });
    });
    phase((std::to_string(upload_mb) + " MiB of audio uploads, 10 MiB each").c_str(), [&] {
        // Addressed to a model that does not transcribe: the whole body is received and parsed
        // before the 400, which is what the service holds for any upload.
        const std::string boundary = "BenchBoundary";
        std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nembed\r\n--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n";
        body += std::string(10u << 20, 'a');
        body += "\r\n--" + boundary + "--\r\n";
        bench::run_concurrent(2, std::max(1, upload_mb / 20), [&](int, int) {
            auto c = xinfer::make_client(svc.front());
            auto r = c->Post("/v1/audio/transcriptions", body, "multipart/form-data; boundary=" + boundary);
            if (!r || r->status != 400) {
                std::fprintf(stderr, "upload: unexpected answer %d\n", r ? r->status : -1);
                std::exit(1);
            }
        });
    });
    phase("200 embedding requests of 64 texts, 8 at a time", [&] {
        json input = json::array();
        for (int i = 0; i < 64; ++i) input.push_back("Text " + std::to_string(i) + " about the knowledge base search service.");
        const std::string body = json{{"model", "embed"}, {"input", input}}.dump();
        bench::run_concurrent(8, 25, [&](int, int) { bench::post_or_die(svc.front(), "/v1/embeddings", body); });
    });
    sampling = false;
    sampler.join();
    for (const char* uid : {"chat", "embed"}) xinfer::make_client(svc.front())->Delete(std::string("/v1/models/") + uid);
    std::this_thread::sleep_for(std::chrono::seconds(5));  // the trimmer waits for 2 s of quiet
    const double after = rss_mb(pid);
    std::printf("after the load, models terminated: %.1f MiB RSS, %d threads; %+.1f MiB against idle (goal within 5)\n", after,
                threads_of(pid), after - idle);
    const bool ok = idle < 15 && after - idle < 5 && svc.start_ms() < 100 && launch_ratio <= 1.2;
    std::printf("%s\n", ok ? "within goals" : "OUTSIDE GOALS");
    return 0;
}
