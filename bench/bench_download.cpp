// Download throughput: xinfer's downloader (libcurl, .incomplete then rename) against the curl
// program fetching the same file from the same local server, rounds interleaved; then with
// verification on both sides: xinfer hashing while it writes against curl followed by
// sha256sum, as a user checks a file by hand; and SHA-256 alone, to show what verifying costs.
//
//   bench_download [MiB=512] [rounds=3]
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_harness.h"
#include "hub/http_fetch.h"
#include "hub/sha256.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
    const int mib = argc > 1 ? std::atoi(argv[1]) : 512;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    const fs::path dir = fs::temp_directory_path() / ("xinfer-bench-download-" + std::to_string(getpid()));
    fs::create_directories(dir / "served");
    const fs::path source = dir / "served" / "model.gguf";
    {
        std::ofstream out(source, std::ios::binary);
        std::mt19937_64 rng(7);
        std::vector<uint64_t> block(1 << 17);  // 1 MiB
        for (int i = 0; i < mib; ++i) {
            for (auto& v : block) v = rng();
            out.write(reinterpret_cast<const char*>(block.data()), block.size() * 8);
        }
    }
    const uint64_t size = fs::file_size(source);
    const std::string sha = xinfer::sha256_of_file(source);

    httplib::Server server;
    server.set_mount_point("/", (dir / "served").string());  // static files, with Range support
    const int port = server.bind_to_any_port("127.0.0.1");
    std::thread serving([&] { server.listen_after_bind(); });
    server.wait_until_ready();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/model.gguf";

    // Four ways, in an order that rotates every round (none always finds a warmer cache).
    enum Way { curl_plain, xinfer_plain, curl_then_sha256sum, xinfer_verified, ways };
    std::vector<std::vector<double>> took(ways);
    std::vector<double> hash_s;
    for (int r = 0; r < rounds; ++r) {
        for (int k = 0; k < ways; ++k) {
            const Way way = static_cast<Way>((k + r) % ways);
            const fs::path out = dir / ("out-" + std::to_string(way));
            fs::remove(out);
            const auto t0 = Clock::now();
            if (way == curl_plain || way == curl_then_sha256sum) {
                std::string cmd = "curl -s -f -o '" + out.string() + "' '" + url + "'";
                if (way == curl_then_sha256sum) cmd += " && sha256sum '" + out.string() + "' > /dev/null";
                if (std::system(cmd.c_str()) != 0) {
                    std::fprintf(stderr, "curl failed\n");
                    return 1;
                }
            } else {
                xinfer::download_file(url, out, size, way == xinfer_verified ? sha : "", xinfer::default_fetch_options(), {});
            }
            took[way].push_back(seconds_since(t0));
            fs::remove(out);
        }
        const auto t0 = Clock::now();
        if (xinfer::sha256_of_file(source) != sha) return 1;
        hash_s.push_back(seconds_since(t0));
    }
    server.stop();
    serving.join();
    fs::remove_all(dir);

    auto rate = [&](const std::vector<double>& t) { return size / 1048576.0 / bench::median(t); };
    std::printf("download benchmark: %.0f MiB from a local server, %d rounds, medians\n", size / 1048576.0, rounds);
    std::printf("%-44s %10s\n", "", "MiB/s");
    std::printf("%-44s %10.1f\n", "curl (the program)", rate(took[curl_plain]));
    std::printf("%-44s %10.1f\n", "xinfer download", rate(took[xinfer_plain]));
    std::printf("%-44s %10.1f\n", "curl, then sha256sum", rate(took[curl_then_sha256sum]));
    std::printf("%-44s %10.1f\n", "xinfer download, SHA-256 checked as it writes", rate(took[xinfer_verified]));
    std::printf("%-44s %10.1f\n", "SHA-256 alone (OpenSSL, from page cache)", size / 1048576.0 / bench::median(hash_s));
    std::printf("ratio xinfer / curl: %.3f; verified, xinfer / (curl + sha256sum): %.3f\n",
                rate(took[xinfer_plain]) / rate(took[curl_plain]), rate(took[xinfer_verified]) / rate(took[curl_then_sha256sum]));
    return 0;
}
