// Embedding and rerank models on libllama, in the model host (engines `llama-embedding` and
// `llama-rerank`). One loaded model and, on CPU, one compute lane per thread (at most 4; one on a
// GPU), each a thread with contexts of its own: calls queue their inputs, and each graph run
// takes whatever is queued, in arrival order, as separate sequences of one llama_decode batch (up
// to a token budget: without a KV cache an encoder's attention spans the whole batch, so its
// cost grows with the square of the batch's tokens). The lanes run side by side, each on its
// share of the threads: ggml's threads wait for each other at every operation, so two one-thread
// runs do more than one two-thread run (bench_encoder_runs, four 25-token texts a run: 220 us a
// text on one thread against 155 us on two, which is 310 us of the cores; 12.0 against 7.8 ms on
// a bge-small shape). A lone input to a model big enough to gain gets every thread. On CPU, runs
// under 64 tokens use a second, small context without flash attention (cheaper there).
// Tokenizing and writing answers happen on the callers' threads, in parallel with the compute.
// Where the machine has cores beyond the replica's threads, a spare lane (one thread, Linux's
// SCHED_IDLE class) runs what the busy lanes leave queued on cycles no other thread wants. It
// never delays another thread: any thread that wakes on its core preempts it at once, so it never
// takes the queue's lock (preempted while holding it, it would stall every caller and lane until
// an idle core came by). Threads of normal priority hand it its runs and its answers to the
// callers (a courier thread, woken when a spare run is done, hands over the answers and the next
// run at once); it only computes, and says it is done through one atomic state. A run it cannot
// finish in time (its cores got busy) is taken back and run by a regular lane.
// llama-server spends about as much again as a small model's compute on its task queue, slots
// and JSON for each input; this engine spends little beyond the compute.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/wake_flag.h"

struct llama_model;
struct llama_context;
struct llama_vocab;
struct llama_batch;

namespace xinfer {

using Tokens = std::vector<int32_t>;

// An input the model cannot take (too long, empty): the caller's mistake, a 400.
class EncoderInputError : public std::runtime_error {
public:
    EncoderInputError(const std::string& what, std::string code_) : std::runtime_error(what), code(std::move(code_)) {}
    std::string code;
};

class LlamaEncoder {
public:
    enum class Task { embedding, rerank };
    // max_input_tokens: the longest input (query + document for rerank) one call may hold; 0 = the
    // model's training context, at most 8192 (as llama-server runs it in xinfer).
    // spare_lanes: lanes beyond the threads (0 or 1, CPU only), on idle cycles (see above).
    LlamaEncoder(const std::string& model_path, Task task, int threads, bool use_gpu, int max_input_tokens = 0,
                 int spare_lanes = 0);
    ~LlamaEncoder();
    LlamaEncoder(const LlamaEncoder&) = delete;
    LlamaEncoder& operator=(const LlamaEncoder&) = delete;

    Task task() const { return task_; }
    int max_input_tokens() const { return max_tokens_; }
    int dimensions() const { return n_embd_out_; }

    // The tokenizer, as llama-server's /tokenize and /detokenize use it.
    Tokens tokenize(const std::string& text, bool add_special) const;
    std::string detokenize(const Tokens& tokens) const;
    // A query and a document as one input, the way the model was trained to read the pair (its
    // GGUF's rerank template, or BOS query EOS SEP document EOS).
    Tokens rerank_pair(const std::string& query, const std::string& document) const;

    // One result per input, in order: L2-normalized vectors (embedding), or a one-element score
    // (rerank). Throws EncoderInputError for an empty or too long input (naming its index).
    std::vector<std::vector<float>> encode(const std::vector<Tokens>& inputs);

    // Tokens one graph run takes at most, for inputs of up to max_tokens (see the definition).
    static int run_tokens(int max_tokens, bool use_gpu);

    int lanes() const { return static_cast<int>(lanes_.size()); }  // the spare lane among them
    // Graph runs so far: all of them, those that held every thread, those that began while
    // another lane was in a run, those of the spare lane, and those of its runs a regular lane
    // took back (and ran again) because the spare one was still waiting for a core.
    struct Stats {
        uint64_t runs = 0, wide_runs = 0, side_by_side_runs = 0, spare_runs = 0, spare_runs_taken_back = 0;
    };
    Stats stats();

private:
    struct Job {
        const std::vector<Tokens>* inputs = nullptr;
        std::vector<std::vector<float>>* out = nullptr;
        size_t next = 0;        // inputs handed to the lanes
        size_t done = 0;        // inputs computed
        size_t taken_back = 0;  // inputs dropped after an engine failure
        std::string error;
        // The caller's own signal (one per calling thread): a finished run wakes only the callers
        // it finished, after its lane has let go of the queue's lock, so that a woken
        // caller does not at once sleep again waiting for that lock (a second wake-up per input).
        WakeFlag* finished = nullptr;
    };
    struct Item {
        Job* job = nullptr;
        size_t index = 0;
    };
    // One compute thread and the contexts it runs on. Lane 0's main context takes a whole input
    // of max_tokens_; the others are sized for one run of chunk_tokens_ (long inputs wait for lane 0).
    struct Lane {
        int index = 0;
        llama_context* ctx = nullptr;        // every run, or (on CPU) every run of 64 tokens or more
        llama_context* short_ctx = nullptr;  // on CPU: runs under 64 tokens, without flash attention
        int ctx_tokens = 0;                  // the longest input ctx takes
        int own_threads = 1;                 // its share of the threads: a run beside others
        int threads = 0;                     // threads the contexts were last set to
        bool idle = false;                   // waiting on `work`
        bool signalled = false;              // woken, not yet running: not woken twice
        // The spare lane. A thread of normal priority, holding the lock, gives it a run while it is
        // idle (its inputs already in `batch`, `held` the items) and posts `assigned`; the spare
        // thread computes into `out`, moves `state` from running to done and posts the courier,
        // which hands `out` to the callers (or a regular lane does, at its next look); or a
        // regular lane finds the run overdue, moves `state`
        // to taken_back, runs `held` itself and raises `abort`, and the spare thread, once it gets
        // a core, stops and sets `state` idle. Whoever wins the move from running owns the items.
        enum SpareState : int { spare_idle, spare_running, spare_done, spare_taken_back };
        bool spare = false;
        std::atomic<int> state{spare_idle};
        std::vector<Item> held;                    // under mu_
        std::chrono::steady_clock::time_point due; // under mu_
        llama_batch* batch = nullptr;              // the spare's inputs, written while it is idle
        std::vector<std::vector<float>> out;       // its results, read once it is done
        bool failed = false;                       // its run threw (the items are run again)
        WakeFlag assigned;
        std::atomic<bool> abort{false};
        std::condition_variable work;
        std::thread thread;
    };
    void compute_loop(Lane& lane);
    void spare_loop(Lane& lane);  // never takes mu_
    void courier_loop();          // a spare run done: its answers out, the next one in
    void fill_batch(const std::vector<Item>& chunk, llama_batch& batch) const;  // reads the inputs
    llama_context* decode(Lane& lane, llama_batch& batch, int threads);          // one graph run
    void read_outputs(llama_context* ctx, size_t n, std::vector<std::vector<float>*>& dest) const;
    bool can_take(const Lane& lane) const;  // under mu_
    // Under mu_: the queue's head items for one lane's run (at most `most`, within a run's tokens).
    void take_chunk(size_t most, std::vector<Item>& chunk);
    size_t queued() const;  // under mu_: inputs in the queue
    // Under mu_: a run's items are finished (with `error`, their jobs fail); the callers whose
    // every input is finished are added to `wake`, to be posted once the lock is let go.
    void complete(const std::vector<Item>& chunk, const std::string& error, std::vector<WakeFlag*>& wake);
    void note_cpu_per_token(int64_t cpu_ns, int n_tokens);  // any thread, no lock
    // Under mu_: hands the spare lane a run if it is idle and every regular lane is running; the
    // caller posts the returned lane's `assigned` once it has let go of the lock.
    Lane* assign_spare();
    // Under mu_: a finished spare run's answers go to its callers (their wake-ups added to `wake`);
    // with `rerun` (a regular lane), a failed or overdue one's items move to `chunk` to be run
    // again. True when it took the items into `chunk`.
    bool settle_spare(std::vector<Item>& chunk, std::vector<WakeFlag*>& wake, bool rerun = true);
    std::chrono::steady_clock::time_point spare_due() const;  // under mu_: when a regular lane must look at the spare run (max() if none)
    bool spare_done() const { return spare_ && spare_->state.load(std::memory_order_acquire) == Lane::spare_done; }
    Lane* lane_to_wake();                   // under mu_: an idle regular lane that can take the queue's head, marked signalled
    void free_contexts();

    Task task_;
    int max_tokens_ = 0;
    int max_sequences_ = 64;
    int chunk_tokens_ = 0;  // tokens per graph run (see the constructor)
    int n_embd_out_ = 0;
    int threads_ = 1;         // every thread: a run that finds the engine otherwise idle
    int regular_lanes_ = 1;   // the lanes that are not spare
    bool lone_runs_wide_ = false;  // a run alone gets every thread (the model is big enough to gain)
    bool normalize_ = true;
    llama_model* model_ = nullptr;
    const llama_vocab* vocab_ = nullptr;
    std::vector<std::unique_ptr<Lane>> lanes_;
    Lane* spare_ = nullptr;  // the spare lane, if any (the last of lanes_)

    std::mutex mu_;
    std::deque<Job*> queue_;  // jobs with inputs not yet handed to a lane
    int running_ = 0;  // regular lanes in a run (the spare lane is given work only when all are)
    // One thread's CPU time a token, averaged over recent one-thread runs (the spare's among them,
    // which cannot take the lock: a lost update of the average is harmless).
    std::atomic<double> ns_per_token_{0};
    std::atomic<bool> spare_stopping_{false};
    WakeFlag courier_wake_;  // posted by the spare thread when a run is done
    std::thread courier_;
    bool wide_running_ = false;  // a run holds every thread: the other lanes wait for it
    bool stopping_ = false;
    Stats stats_;
};

}  // namespace xinfer
