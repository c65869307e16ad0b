// Embedding and rerank models on libllama, in the model host (engines `llama-embedding` and
// `llama-rerank`). One loaded model, one context (two on CPU) and one compute thread: calls queue their
// inputs, and each graph run takes whatever is queued, in arrival order, as separate sequences of
// one llama_decode batch (up to a token budget: without a KV cache an encoder's attention spans
// the whole batch, so its cost grows with the square of the batch's tokens). On CPU, runs under
// 64 tokens use a second, small context without flash attention (cheaper there). Tokenizing and
// writing answers happen on the callers' threads, in parallel with the compute. llama-server
// spends about as much again as a small model's compute on its task queue, slots and JSON for
// each input; this engine spends little beyond the compute.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
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
    LlamaEncoder(const std::string& model_path, Task task, int threads, bool use_gpu, int max_input_tokens = 0);
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

private:
    struct Job {
        const std::vector<Tokens>* inputs = nullptr;
        std::vector<std::vector<float>>* out = nullptr;
        size_t next = 0;        // inputs handed to the compute thread
        size_t done = 0;        // inputs computed
        size_t taken_back = 0;  // inputs dropped after an engine failure
        std::string error;
        // The caller's own signal (one per calling thread): a finished run wakes only the callers
        // it finished, after the compute thread has let go of the queue's lock, so that a woken
        // caller does not at once sleep again waiting for that lock (a second wake-up per input).
        WakeFlag* finished = nullptr;
    };
    struct Item {
        Job* job = nullptr;
        size_t index = 0;
    };
    void compute_loop();
    void run_chunk(const std::vector<Item>& chunk, llama_batch& batch);  // one graph run; fills each item's output

    Task task_;
    int max_tokens_ = 0;
    int max_sequences_ = 64;
    int chunk_tokens_ = 0;  // tokens per graph run (see the constructor)
    int n_embd_out_ = 0;
    bool normalize_ = true;
    llama_model* model_ = nullptr;
    llama_context* ctx_ = nullptr;        // every run, or (on CPU) every run of 64 tokens or more
    llama_context* short_ctx_ = nullptr;  // on CPU: runs under 64 tokens, without flash attention
    const llama_vocab* vocab_ = nullptr;

    std::mutex mu_;
    std::condition_variable work_;
    std::deque<Job*> queue_;  // jobs with inputs not yet handed to the compute thread
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace xinfer
