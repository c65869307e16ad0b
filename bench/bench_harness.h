// Shared by the benchmarks: run `xinfer serve` in a scratch home, launch one model, learn its
// engine's private address (the "direct" reference), and drive concurrent request loops.
#pragma once

#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace httplib {
class Client;
}

namespace bench {

class Service {
public:
    // extra_args: more `serve` flags (cluster mode: --etcd, --node-name, ...).
    explicit Service(const std::string& xinfer_bin, const std::vector<std::string>& extra_args = {});
    ~Service();
    // Launches a model (wait_ready) and returns its first replica's engine address.
    std::string launch(const nlohmann::json& body);
    const std::string& front() const { return front_; }  // "127.0.0.1:PORT"
    pid_t pid() const { return pid_; }
    double start_ms() const { return start_ms_; }  // from exec to /status answering

private:
    pid_t pid_ = -1;
    std::string home_, front_;
    double start_ms_ = 0;
};

// Runs `per_worker` calls of fn(worker, i) on each of `concurrency` threads; returns seconds.
double run_concurrent(int concurrency, int per_worker, const std::function<void(int, int)>& fn);

// POSTs JSON, returns the body; aborts the benchmark on any failure (numbers would be lies).
std::string post_or_die(const std::string& address, const std::string& path, const std::string& body);
// The same on a client the caller keeps (a connection kept alive between requests, as the OpenAI
// SDK's HTTP client does; the call above opens a new one per request, as `requests.post` does).
std::string post_or_die(httplib::Client& client, const std::string& path, const std::string& body);

double median(std::vector<double> v);

// Two paths measured alike: rate(path, requests) runs `requests` per worker on path 0 (the
// reference, e.g. the engine direct) or path 1 (through xinfer) and returns a rate. Both warm up
// first; then `rounds` rounds, alternating which path goes first, so neither always runs on a
// hotter machine. Returns the medians.
struct PairedRates {
    double reference, xinfer;
};
PairedRates interleaved_medians(int rounds, int requests, const std::function<double(int path, int requests)>& rate);
// The same for any number of paths (the order rotates each round); returns every round's rate,
// [path][round].
std::vector<std::vector<double>> interleaved_rounds(int rounds, int requests, int paths,
                                                    const std::function<double(int path, int requests)>& rate);

// The ratio of two paths round by round (a round's paths ran back to back, so a machine that
// gets slower or faster during the run moves both alike). `median` is the run's figure: the
// median of the paired ratios, which a drift of the machine's speed during the run does not
// move as it moves the ratio of each path's median. `low`..`high` spread the single rounds;
// `ci_low`..`ci_high` is a distribution-free confidence range of that median (order statistics of
// the rounds, as a sign test), at `confidence` (0.94 for 5 rounds, 0.96 for 15): a goal inside
// it is not decided by this run.
struct RatioSpread {
    double median = 0, low = 0, high = 0, ci_low = 0, ci_high = 0, confidence = 0;
};
RatioSpread round_ratios(const std::vector<double>& numerator, const std::vector<double>& denominator);

// The engine command line of a model's first replica (from /proc), without the program.
std::vector<std::string> engine_args(const std::string& front, const std::string& uid);

// For an embedding or rerank model that xinfer serves in its model host: the llama-server command
// line (without the program) a user would otherwise run for it, with xinfer's earlier flags for
// encoders (4 slots, one input per ubatch, no polling) and the replica's threads and context.
// BENCH_DIRECT_THREADS=N gives it N threads instead (e.g. every core, which the replica's spare
// lane draws its idle cycles from).
std::vector<std::string> llama_server_encoder_args(const std::string& front, const std::string& uid);

// An engine program started by hand (the reference a user would run): `program args... --host
// 127.0.0.1 --port P`, ready once /health answers 200; stopped with the object.
class Engine {
public:
    Engine(const std::string& program, const std::vector<std::string>& args);
    ~Engine();
    const std::string& address() const { return address_; }

private:
    pid_t pid_ = -1;
    std::string address_;
};

// llama.cpp's own multi-model router (`llama-server --models-preset`), serving models with the
// same engine flags xinfer's replicas run with: the peer a user would otherwise pick. Requests
// name the model as with xinfer; the router starts a llama-server per model and forwards.
class Router {
public:
    // models: name -> engine_args() of the replica to mirror.
    Router(const std::string& llama_server, const std::vector<std::pair<std::string, std::vector<std::string>>>& models);
    ~Router();
    const std::string& address() const { return address_; }

private:
    pid_t pid_ = -1;
    std::string dir_, address_;
};

}  // namespace bench
