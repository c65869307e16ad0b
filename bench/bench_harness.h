// Shared by the benchmarks: run `xinfer serve` in a scratch home, launch one model, learn its
// engine's private address (the "direct" reference), and drive concurrent request loops.
#pragma once

#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace bench {

class Service {
public:
    explicit Service(const std::string& xinfer_bin);
    ~Service();
    // Launches a model (wait_ready) and returns its first replica's engine address.
    std::string launch(const nlohmann::json& body);
    const std::string& front() const { return front_; }  // "127.0.0.1:PORT"

private:
    pid_t pid_ = -1;
    std::string home_, front_;
};

// Runs `per_worker` calls of fn(worker, i) on each of `concurrency` threads; returns seconds.
double run_concurrent(int concurrency, int per_worker, const std::function<void(int, int)>& fn);

// POSTs JSON, returns the body; aborts the benchmark on any failure (numbers would be lies).
std::string post_or_die(const std::string& address, const std::string& path, const std::string& body);

double median(std::vector<double> v);

// Two paths measured alike: rate(path, requests) runs `requests` per worker on path 0 (the
// reference, e.g. the engine direct) or path 1 (through xinfer) and returns a rate. Both warm up
// first; then `rounds` rounds, alternating which path goes first, so neither always runs on a
// hotter machine. Returns the medians.
struct PairedRates {
    double reference, xinfer;
};
PairedRates interleaved_medians(int rounds, int requests, const std::function<double(int path, int requests)>& rate);

}  // namespace bench
