// Conversion benchmark: an HF folder to GGUF (f16 and q8_0) with the native converter, against
// the reference of copying the same weight files (the least any conversion must do: read every
// byte and write a file of about that size), interleaved and repeated in one run. Also reports
// the peak memory of the process against the size of the weights: the converter streams, so it
// must stay well below.
//
//   bench_convert FOLDER [rounds=3] [threads=0: every core]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_harness.h"
#include "convert/converter.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// safetensors or pytorch_model.bin files: whichever the folder holds.
bool is_weight_file(const fs::path& p) { return p.extension() == ".safetensors" || p.extension() == ".bin"; }

uint64_t weight_bytes(const fs::path& dir) {
    uint64_t n = 0;
    for (auto& e : fs::directory_iterator(dir))
        if (is_weight_file(e.path())) n += e.file_size();
    return n;
}

// Reads every weight file and writes its bytes to one output file, in 8 MiB pieces.
double copy_seconds(const fs::path& dir, const fs::path& out) {
    const auto t0 = Clock::now();
    std::ofstream o(out, std::ios::binary);
    std::vector<char> buf(8 << 20);
    for (auto& e : fs::directory_iterator(dir)) {
        if (!is_weight_file(e.path())) continue;
        std::ifstream in(e.path(), std::ios::binary);
        while (in.read(buf.data(), buf.size()) || in.gcount() > 0) o.write(buf.data(), in.gcount());
    }
    o.flush();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FOLDER [rounds=3] [threads=0]\n", argv[0]);
        return 2;
    }
    const fs::path dir = argv[1];
    const int rounds = argc > 2 ? std::max(1, std::stoi(argv[2])) : 3;
    const int threads = argc > 3 ? std::stoi(argv[3]) : 0;
    const fs::path scratch = fs::temp_directory_path() / ("xinfer-bench-convert-" + std::to_string(getpid()));
    fs::create_directories(scratch);
    const double mib = weight_bytes(dir) / 1048576.0;
    setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("conversion benchmark: %s, %.1f MiB of weights, %d rounds, medians\n", dir.c_str(), mib, rounds);
    std::printf("%-10s %12s %12s %10s\n", "outtype", "copy MiB/s", "convert MiB/s", "ratio");
    for (const char* outtype : {"f16", "q8_0"}) {
        std::vector<double> copy, conv;
        for (int r = 0; r < rounds; ++r) {
            // Alternate which goes first, so neither always finds the page cache warmer.
            for (int k = 0; k < 2; ++k) {
                if ((r + k) % 2 == 0) {
                    copy.push_back(mib / copy_seconds(dir, scratch / "copy.bin"));
                } else {
                    try {
                        auto res = xinfer::convert_hf_folder(dir, scratch / "out.gguf", {outtype, threads});
                        conv.push_back(mib / res.seconds);
                    } catch (const std::exception& e) {
                        std::fprintf(stderr, "conversion failed: %s\n", e.what());
                        return 1;
                    }
                }
            }
        }
        const double c = bench::median(copy), v = bench::median(conv);
        std::printf("%-10s %12.1f %12.1f %10.3f\n", outtype, c, v, v / c);
    }
    std::printf("peak memory of this process: %.1f MiB (weights: %.1f MiB)\n", peak_rss_mib(), mib);
    fs::remove_all(scratch);
    return 0;
}
