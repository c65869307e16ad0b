#include "engines/llama_encoder/llama_encoder.h"

#include <llama.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "common/log.h"
#include "engines/mtmd/llama_runtime.h"

namespace xinfer {

namespace {

constexpr int kMaxContext = 8192;  // as xinfer runs llama-server (default_context_size)
constexpr int kShortRunTokens = 64;  // ggml's flash-attention tile (GGML_FA_TILE_Q): below it, no tiles

// Replaces every `from` in s with `to`.
void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

}  // namespace

int LlamaEncoder::run_tokens(int max_tokens, bool use_gpu) {
    // Bigger runs use the matrix units better but, with no KV cache, each sequence's attention
    // spans the whole run. On CPU, measured on BERT shapes 64 and 384 wide, 25-token texts cost
    // least per text at 4-8 to a run (100-200 tokens), more alone or 16 to a run. A GPU does a
    // run of 40 such texts in about the time of one (H200, tiny model, 64 clients: 5000 texts/s
    // at 192 tokens a run, 6900 at 1024, 6100 at 4096; 8 clients the same at each).
    return std::min(max_tokens, use_gpu ? 1024 : 192);
}

LlamaEncoder::LlamaEncoder(const std::string& model_path, Task task, int threads, bool use_gpu, int max_input_tokens,
                           int spare_lanes)
    : task_(task) {
    init_llama_runtime();
    llama_model_params mp = host_model_params(use_gpu);
    model_ = llama_model_load_from_file(model_path.c_str(), mp);
    if (!model_) throw std::runtime_error("llama.cpp cannot load the model file " + model_path);
    vocab_ = llama_model_get_vocab(model_);
    const int trained = llama_model_n_ctx_train(model_);
    max_tokens_ = max_input_tokens > 0 ? max_input_tokens : (trained > 0 ? std::min(trained, kMaxContext) : 4096);
    chunk_tokens_ = run_tokens(max_tokens_, use_gpu);
    if (const char* v = std::getenv("XINFER_ENCODER_CHUNK_TOKENS")) chunk_tokens_ = std::clamp(std::atoi(v), 1, max_tokens_);

    threads_ = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // A GPU runs one big run at a time; CPU threads each get a lane, at most 4 sharing the
    // threads out (more would split a load into runs too small to use the matrix units well).
    int lanes = use_gpu ? 1 : std::min(threads_, 4);
    if (const char* v = std::getenv("XINFER_ENCODER_LANES")) lanes = std::clamp(std::atoi(v), 1, threads_);

    // An encoder reads each input whole in one ubatch; a run of inputs shares it.
    auto make_context = [&](int tokens, bool flash) {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(tokens);
        cp.n_seq_max = static_cast<uint32_t>(max_sequences_);
        cp.kv_unified = true;  // decoder-based embedders (Qwen3-Embedding): the run's sequences share the cache
        cp.embeddings = true;
        if (task == Task::rerank) cp.pooling_type = LLAMA_POOLING_TYPE_RANK;
        if (!flash) cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        cp.n_threads = cp.n_threads_batch = threads_;
        llama_context* ctx = llama_init_from_model(model_, cp);
        // Pooling from one token (CLS, last, a reranker's score): the layers after the last
        // attention run on that token alone (scripts/llama-patches/pooled-rows-only.patch;
        // llama-server does not ask for it). The tiny reranker's runs of four 33-token pairs:
        // 288 -> 230 us a pair (bench_encoder_runs). XINFER_ENCODER_ALL_ROWS=1: every row (to compare).
        const char* all_rows = std::getenv("XINFER_ENCODER_ALL_ROWS");
        if (ctx && !(all_rows && std::string(all_rows) == "1")) llama_set_pooled_rows_only(ctx, true);
        return ctx;
    };
    regular_lanes_ = lanes;
    if (!use_gpu && spare_lanes > 0) ++lanes;  // one at most: see the header
    for (int i = 0; i < lanes; ++i) {
        auto lane = std::make_unique<Lane>();
        lane->index = i;
        lane->threads = threads_;
        lane->spare = i >= regular_lanes_;
        // The threads shared out: 6 on 4 lanes run 2, 2, 1, 1 beside each other; a spare lane runs one.
        lane->own_threads = lane->spare ? 1 : threads_ / regular_lanes_ + (i < threads_ % regular_lanes_ ? 1 : 0);
        lane->ctx_tokens = i == 0 ? max_tokens_ : chunk_tokens_;
        lane->ctx = make_context(lane->ctx_tokens, true);
        // On CPU, a run shorter than one 64-token tile of ggml's flash attention goes through its
        // row-by-row kernel, which costs a lone 28-token text 1.45x what plain attention does
        // (bench_encoder_runs; 1.35x on a bge-small shape): such runs (a lone query, the usual
        // search call) get a small context of their own without it. Its buffers are sized for 64 tokens.
        if (lane->ctx && !use_gpu && lane->ctx_tokens > kShortRunTokens) lane->short_ctx = make_context(kShortRunTokens, false);
        const bool made = lane->ctx && (use_gpu || lane->ctx_tokens <= kShortRunTokens || lane->short_ctx);
        // A spare run taken back stops at its next operation (llama_decode returns 2).
        if (lane->spare)
            for (llama_context* c : {lane->ctx, lane->short_ctx})
                if (c) llama_set_abort_callback(c, [](void* l) { return static_cast<Lane*>(l)->abort.load(std::memory_order_relaxed); }, lane.get());
        if (lane->spare) lane->batch = new llama_batch(llama_batch_init(lane->ctx_tokens, 0, 1));
        lanes_.push_back(std::move(lane));
        if (!made) {
            free_contexts();
            throw std::runtime_error("llama.cpp cannot create a context for " + model_path + " (out of memory?)");
        }
    }
    if (llama_pooling_type(lanes_[0]->ctx) == LLAMA_POOLING_TYPE_NONE) {
        free_contexts();
        throw std::runtime_error(model_path + " gives one vector per token (no pooling): not an embedding model xinfer can serve");
    }
    n_embd_out_ = llama_model_n_embd_out(model_);
    // A lone input on every thread: on small models ggml's threads cost more in waiting for each
    // other than they save (bench_encoder_runs, a 25-token text, 64 wide: 252 us on one thread,
    // 296 on two), on bge-small's 384 they pay (15.7 against 9.5 ms). Only where the lanes run on
    // one thread each, and only on lane 0: every thread that starts an OpenMP team keeps it, and
    // once libgomp manages more threads than there are cores it stops spinning at its barriers
    // and sleeps instead (measured: a wide run that lane 1 had once started cost 20 % more).
    lone_runs_wide_ = regular_lanes_ > 1 && threads_ == regular_lanes_ && llama_model_n_embd(model_) >= 256;
    normalize_ = task == Task::embedding;
    for (auto& lane : lanes_) {
        Lane* l = lane.get();
        lane->thread = std::thread([this, l] { l->spare ? spare_loop(*l) : compute_loop(*l); });
        if (lane->spare) {
            // Only cycles no other thread of the machine wants: any thread that wakes on its core
            // takes the core at once. The callers' threads, the gateway and other models' engines
            // run as if this lane were not there. Where the class is refused, the lane stays
            // unused: at normal priority it would be a thread beyond the replica's budget.
            sched_param none{};
            if (const int err = pthread_setschedparam(lane->thread.native_handle(), SCHED_IDLE, &none); err == 0) {
                {
                    std::lock_guard lock(mu_);
                    spare_ = l;
                }
                courier_ = std::thread([this] { courier_loop(); });
            } else {
                log::warn(std::string("encoder: no spare lane (SCHED_IDLE refused: ") + std::strerror(err) + ")");
            }
        }
    }
}

void LlamaEncoder::free_contexts() {
    for (auto& lane : lanes_) {
        if (lane->short_ctx) llama_free(lane->short_ctx);
        if (lane->ctx) llama_free(lane->ctx);
        lane->short_ctx = lane->ctx = nullptr;
        if (lane->batch) llama_batch_free(*lane->batch);
        delete lane->batch;
        lane->batch = nullptr;
    }
    if (model_) llama_model_free(model_);
    model_ = nullptr;
}

LlamaEncoder::~LlamaEncoder() {
    std::vector<WakeFlag*> wake;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        // The regular lanes finish their runs and stop; the callers of a spare run and of the
        // queue are answered here (a finished spare run's answers still go out).
        const std::string error = "the model is being unloaded";
        std::vector<Item> left;
        if (spare_ && !spare_->held.empty()) {
            int state = Lane::spare_running;
            if (spare_->state.compare_exchange_strong(state, Lane::spare_taken_back, std::memory_order_acq_rel)) {
                spare_->abort = true;
                left.swap(spare_->held);
            } else {
                settle_spare(left, wake);  // done: answered, or its items left to fail below
            }
        }
        while (!queue_.empty()) {
            Job* job = queue_.front();
            left.push_back({job, job->next++});
            if (job->next == job->inputs->size()) queue_.pop_front();
        }
        complete(left, error, wake);
    }
    for (WakeFlag* w : wake) w->post();
    spare_stopping_ = true;
    courier_wake_.post();
    if (courier_.joinable()) courier_.join();
    for (auto& lane : lanes_) {
        if (lane->spare) lane->assigned.post();
        lane->work.notify_all();
    }
    for (auto& lane : lanes_)
        if (lane->thread.joinable()) lane->thread.join();
    free_contexts();
}

Tokens LlamaEncoder::tokenize(const std::string& text, bool add_special) const {
    Tokens out(text.size() + 8);
    int n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(), static_cast<int32_t>(out.size()),
                           add_special, true);
    if (n < 0) {
        out.resize(static_cast<size_t>(-n));
        n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(), static_cast<int32_t>(out.size()),
                           add_special, true);
    }
    out.resize(static_cast<size_t>(std::max(0, n)));
    return out;
}

std::string LlamaEncoder::detokenize(const Tokens& tokens) const {
    const int32_t n_vocab = llama_vocab_n_tokens(vocab_);
    std::string out;
    char buf[256];
    for (int32_t t : tokens) {
        if (t < 0 || t >= n_vocab) throw EncoderInputError("Token id " + std::to_string(t) + " is not in the vocabulary", "invalid_token");
        const int n = llama_token_to_piece(vocab_, t, buf, sizeof buf, 0, true);
        if (n > 0) out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

Tokens LlamaEncoder::rerank_pair(const std::string& query, const std::string& document) const {
    if (const char* tmpl = llama_model_chat_template(model_, "rerank")) {
        std::string prompt = tmpl;
        replace_all(prompt, "{query}", query);
        replace_all(prompt, "{document}", document);
        Tokens t(prompt.size() + 8);
        int n = llama_tokenize(vocab_, prompt.data(), static_cast<int32_t>(prompt.size()), t.data(), static_cast<int32_t>(t.size()), false, true);
        t.resize(static_cast<size_t>(std::max(0, n)));
        return t;
    }
    auto plain = [&](const std::string& s) {
        Tokens t(s.size() + 8);
        int n = llama_tokenize(vocab_, s.data(), static_cast<int32_t>(s.size()), t.data(), static_cast<int32_t>(t.size()), false, false);
        t.resize(static_cast<size_t>(std::max(0, n)));
        return t;
    };
    llama_token eos = llama_vocab_eos(vocab_);
    if (eos == LLAMA_TOKEN_NULL) eos = llama_vocab_sep(vocab_);
    Tokens out;
    if (llama_vocab_get_add_bos(vocab_)) out.push_back(llama_vocab_bos(vocab_));
    const Tokens q = plain(query), d = plain(document);
    out.insert(out.end(), q.begin(), q.end());
    if (llama_vocab_get_add_eos(vocab_)) out.push_back(eos);
    if (llama_vocab_get_add_sep(vocab_)) out.push_back(llama_vocab_sep(vocab_));
    out.insert(out.end(), d.begin(), d.end());
    if (llama_vocab_get_add_eos(vocab_)) out.push_back(eos);
    return out;
}

std::vector<std::vector<float>> LlamaEncoder::encode(const std::vector<Tokens>& inputs) {
    const int32_t n_vocab = llama_vocab_n_tokens(vocab_);
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].empty()) throw EncoderInputError("Input " + std::to_string(i) + " is empty", "empty_input");
        if (static_cast<int>(inputs[i].size()) > max_tokens_)
            throw EncoderInputError("Input is longer than the model's context: input " + std::to_string(i) + " has " +
                                        std::to_string(inputs[i].size()) + " tokens, the model reads at most " +
                                        std::to_string(max_tokens_),
                                    "context_length_exceeded");
        for (int32_t t : inputs[i])
            if (t < 0 || t >= n_vocab)
                throw EncoderInputError("Input " + std::to_string(i) + " holds token id " + std::to_string(t) +
                                            ", which is not in the vocabulary (0-" + std::to_string(n_vocab - 1) + ")",
                                        "invalid_token");
    }
    std::vector<std::vector<float>> out(inputs.size());
    if (inputs.empty()) return out;
    static thread_local WakeFlag finished;
    Job job;
    job.inputs = &inputs;
    job.out = &out;
    job.finished = &finished;
    Lane* wake = nullptr;
    Lane* spare = nullptr;
    {
        std::lock_guard lock(mu_);
        queue_.push_back(&job);
        wake = lane_to_wake();
        if (!wake) spare = assign_spare();  // every regular lane is running
    }
    if (wake) wake->work.notify_one();  // outside the lock: the lane, woken, finds it free
    if (spare) spare->assigned.post();
    finished.wait();  // the lanes wrote the outputs and any error before posting
    if (!job.error.empty()) throw std::runtime_error(job.error);
    return out;
}

LlamaEncoder::Stats LlamaEncoder::stats() {
    std::lock_guard lock(mu_);
    return stats_;
}

bool LlamaEncoder::can_take(const Lane& lane) const {
    if (queue_.empty() || wide_running_) return false;
    if (lane.spare && running_ < regular_lanes_) return false;  // a regular lane is free for it
    const Job* head = queue_.front();
    return static_cast<int>((*head->inputs)[head->next].size()) <= lane.ctx_tokens;
}

LlamaEncoder::Lane* LlamaEncoder::lane_to_wake() {
    for (auto& lane : lanes_)
        if (!lane->spare && lane->idle && !lane->signalled && can_take(*lane)) {
            lane->signalled = true;
            return lane.get();
        }
    return nullptr;
}

void LlamaEncoder::take_chunk(size_t most, std::vector<Item>& chunk) {
    size_t tokens = 0;
    while (!queue_.empty() && chunk.size() < most) {
        Job* job = queue_.front();
        const size_t n = (*job->inputs)[job->next].size();
        if (!chunk.empty() && tokens + n > static_cast<size_t>(chunk_tokens_)) break;
        chunk.push_back({job, job->next++});
        tokens += n;
        if (job->next == job->inputs->size()) queue_.pop_front();
    }
}

size_t LlamaEncoder::queued() const {
    size_t n = 0;
    for (const Job* job : queue_) n += job->inputs->size() - job->next;
    return n;
}

LlamaEncoder::Lane* LlamaEncoder::assign_spare() {
    Lane* sp = spare_;
    if (!sp || stopping_ || sp->state.load(std::memory_order_acquire) != Lane::spare_idle || !can_take(*sp)) return nullptr;
    // It takes as a lone lane does (see compute_loop), its inputs read now, on this thread.
    sp->held.clear();
    take_chunk(std::min<size_t>(static_cast<size_t>(max_sequences_), std::max<size_t>(4, (queued() + 1) / 2)), sp->held);
    fill_batch(sp->held, *sp->batch);
    sp->out.resize(sp->held.size());
    sp->failed = false;
    sp->abort = false;
    const double per_token = ns_per_token_.load(std::memory_order_relaxed);
    sp->due = std::chrono::steady_clock::now() + std::chrono::milliseconds(2) +
              std::chrono::nanoseconds(static_cast<int64_t>(4 * (per_token > 0 ? per_token : 1e6) * sp->batch->n_tokens));
    stats_.runs++;
    stats_.spare_runs++;
    stats_.side_by_side_runs++;
    sp->state.store(Lane::spare_running, std::memory_order_release);
    return sp;
}

bool LlamaEncoder::settle_spare(std::vector<Item>& chunk, std::vector<WakeFlag*>& wake, bool rerun) {
    Lane* sp = spare_;
    if (!sp || sp->held.empty()) return false;
    int state = sp->state.load(std::memory_order_acquire);
    if (state == Lane::spare_running && rerun) {
        if (sp->due > std::chrono::steady_clock::now()) return false;
        // Still waiting for a core at its due time: run here instead. The spare thread stops at
        // its next graph node whenever it gets a core, and drops what it computed.
        if (sp->state.compare_exchange_strong(state, Lane::spare_taken_back, std::memory_order_acq_rel)) {
            sp->abort = true;
            chunk.swap(sp->held);
            stats_.spare_runs_taken_back++;
            return true;
        }
        // It finished meanwhile (state now reads done).
    }
    if (state != Lane::spare_done || (sp->failed && !rerun)) return false;
    std::vector<Item> items;
    items.swap(sp->held);
    const bool failed = sp->failed;
    if (!failed)
        for (size_t k = 0; k < items.size(); ++k) (*items[k].job->out)[items[k].index] = std::move(sp->out[k]);
    sp->state.store(Lane::spare_idle, std::memory_order_release);  // its buffers are free for the next run
    if (failed) {
        chunk = std::move(items);  // run again by a regular lane, which reports a fault that is real
        return true;
    }
    complete(items, "", wake);
    return false;
}

std::chrono::steady_clock::time_point LlamaEncoder::spare_due() const {
    return spare_ && !spare_->held.empty() ? spare_->due : std::chrono::steady_clock::time_point::max();
}

void LlamaEncoder::complete(const std::vector<Item>& chunk, const std::string& error, std::vector<WakeFlag*>& wake) {
    for (const Item& it : chunk) {
        Job* job = it.job;
        if (!error.empty() && job->error.empty()) {
            job->error = error;
            // Its inputs not yet taken are not run: it has failed.
            queue_.erase(std::remove(queue_.begin(), queue_.end(), job), queue_.end());
            job->taken_back = job->inputs->size() - job->next;
        }
        if (++job->done + job->taken_back == job->inputs->size()) wake.push_back(job->finished);
    }
}

namespace {
int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

void LlamaEncoder::note_cpu_per_token(int64_t cpu_ns, int n_tokens) {
    if (cpu_ns <= 0 || n_tokens <= 0) return;
    const double sample = static_cast<double>(cpu_ns) / n_tokens;
    const double average = ns_per_token_.load(std::memory_order_relaxed);
    ns_per_token_.store(average > 0 ? 0.8 * average + 0.2 * sample : sample, std::memory_order_relaxed);
}

void LlamaEncoder::compute_loop(Lane& lane) {
    std::vector<Item> chunk;
    std::vector<WakeFlag*> wake;  // callers whose every input a run finished
    std::vector<std::vector<float>*> dest;
    llama_batch batch = llama_batch_init(lane.ctx_tokens, 0, 1);  // reused by every run
    const size_t n_lanes = static_cast<size_t>(regular_lanes_);
    std::unique_lock lock(mu_);
    for (;;) {
        if (stopping_) break;
        chunk.clear();
        wake.clear();
        // A spare run: answered here when it is done, run here when it failed or is overdue.
        const bool rerun = settle_spare(chunk, wake);
        if (!wake.empty()) {
            lock.unlock();
            for (WakeFlag* w : wake) w->post();
            lock.lock();
            continue;
        }
        if (!rerun) {
            if (!can_take(lane)) {
                lane.idle = true;
                const auto due = spare_due();
                auto woken = [&] { return stopping_ || lane.signalled || spare_done(); };
                if (due == std::chrono::steady_clock::time_point::max()) lane.work.wait(lock, woken);
                else lane.work.wait_until(lock, due, woken);
                lane.idle = lane.signalled = false;
                continue;
            }
            // What is queued, in arrival order, while it fits one graph run. One lane takes at most
            // half of it (4 at least): the answered callers send their next inputs while the other
            // half runs, so under steady load every run is full instead of a big run and a lone
            // straggler taking turns (llama-server's 4 slots give it the same rhythm). Several lanes
            // share it evenly with the idle ones (one lane computing four texts while another
            // waits is slower than both computing two).
            size_t idle = 0;  // the regular lanes waiting, a lane already woken for this queue among them
            for (const auto& l : lanes_) idle += l.get() != &lane && l->idle && !l->spare;
            const size_t n = queued();
            take_chunk(std::min<size_t>(static_cast<size_t>(max_sequences_),
                                        n_lanes == 1 ? std::max<size_t>(4, (n + 1) / 2) : (n + idle) / (idle + 1)),
                       chunk);
        }
        // A lone run, with nothing else running or waiting, takes every thread where that pays
        // (see lone_runs_wide_); otherwise one lane's share, and what is left goes to another lane.
        const bool wide = !rerun && lone_runs_wide_ && lane.index == 0 && running_ == 0 && queue_.empty();
        wide_running_ = wide;
        stats_.runs++;
        stats_.wide_runs += wide;
        stats_.side_by_side_runs += running_ > 0;
        ++running_;
        const int threads = wide ? threads_ : lane.own_threads;
        // One thread's CPU time a token sets when a spare run is due (only where there is one).
        const bool timed = threads == 1 && spare_;
        Lane* other = lane_to_wake();
        Lane* spare = assign_spare();  // every regular lane is running now, perhaps
        lock.unlock();
        if (other) other->work.notify_one();
        if (spare) spare->assigned.post();
        fill_batch(chunk, batch);
        std::string error;
        const int64_t cpu_before = timed ? thread_cpu_ns() : 0;
        try {
            llama_context* ctx = decode(lane, batch, threads);
            dest.clear();
            for (const Item& it : chunk) dest.push_back(&(*it.job->out)[it.index]);
            read_outputs(ctx, chunk.size(), dest);
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (timed && error.empty()) note_cpu_per_token(thread_cpu_ns() - cpu_before, batch.n_tokens);
        lock.lock();
        --running_;
        if (wide) wide_running_ = false;
        complete(chunk, error, wake);
        // A released caller may return at once and its job is gone: nothing touches it after this.
        lock.unlock();
        for (WakeFlag* w : wake) w->post();
        lock.lock();
    }
    llama_batch_free(batch);
}

void LlamaEncoder::spare_loop(Lane& lane) {
    std::vector<std::vector<float>*> dest;
    for (;;) {
        lane.assigned.wait();  // a run's inputs are in lane.batch, lane.out sized for its results
        if (spare_stopping_.load(std::memory_order_acquire)) break;
        const int n_tokens = lane.batch->n_tokens;
        const int64_t cpu_before = thread_cpu_ns();
        bool failed = false;
        try {
            llama_context* ctx = decode(lane, *lane.batch, 1);
            dest.clear();
            for (auto& v : lane.out) dest.push_back(&v);
            read_outputs(ctx, lane.out.size(), dest);
        } catch (const std::exception&) {
            failed = true;  // a fault, or a run taken back that stopped early
        }
        if (!failed) note_cpu_per_token(thread_cpu_ns() - cpu_before, n_tokens);
        lane.failed = failed;
        int state = Lane::spare_running;
        if (lane.state.compare_exchange_strong(state, Lane::spare_done, std::memory_order_acq_rel)) {
            // Preempted before this post, the run is found at the regular lanes' next look (at
            // the latest its due time).
            courier_wake_.post();
        } else {
            // Taken back: a regular lane ran it; what this one computed is dropped.
            lane.state.store(Lane::spare_idle, std::memory_order_release);
        }
    }
}

void LlamaEncoder::courier_loop() {
    // At normal priority, so that what it does under the lock cannot wait for a core; it wakes
    // once a spare run (a few µs of work each), typically on the core the spare thread just left.
    std::vector<Item> none;
    std::vector<WakeFlag*> wake;
    for (;;) {
        courier_wake_.wait();
        if (spare_stopping_.load(std::memory_order_acquire)) break;
        Lane* next = nullptr;
        Lane* rerunner = nullptr;
        wake.clear();
        {
            std::lock_guard lock(mu_);
            if (stopping_) continue;
            settle_spare(none, wake, false);
            if (spare_done()) {
                // It failed: a regular lane runs it again (an idle one is woken for it).
                for (auto& l : lanes_)
                    if (!l->spare && l->idle && !l->signalled) {
                        l->signalled = true;
                        rerunner = l.get();
                        break;
                    }
            } else {
                next = assign_spare();
            }
        }
        for (WakeFlag* w : wake) w->post();
        if (rerunner) rerunner->work.notify_one();
        if (next) next->assigned.post();
    }
}

void LlamaEncoder::fill_batch(const std::vector<Item>& chunk, llama_batch& batch) const {
    batch.n_tokens = 0;
    for (size_t s = 0; s < chunk.size(); ++s) {
        const Tokens& input = (*chunk[s].job->inputs)[chunk[s].index];
        for (size_t k = 0; k < input.size(); ++k) {
            const int j = batch.n_tokens++;
            batch.token[j] = input[k];
            batch.pos[j] = static_cast<llama_pos>(k);
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = static_cast<llama_seq_id>(s);
            batch.logits[j] = true;  // pooling reads every token
        }
    }
}

llama_context* LlamaEncoder::decode(Lane& lane, llama_batch& batch, int threads) {
    llama_context* ctx = lane.short_ctx && batch.n_tokens < kShortRunTokens ? lane.short_ctx : lane.ctx;
    if (threads != lane.threads) {
        for (llama_context* c : {lane.ctx, lane.short_ctx})
            if (c) llama_set_n_threads(c, threads, threads);
        lane.threads = threads;
    }
    if (llama_memory_t mem = llama_get_memory(ctx)) llama_memory_clear(mem, true);
    const int rc = llama_decode(ctx, batch);
    if (rc == 2 && lane.abort) throw std::runtime_error("the run was taken back");
    if (rc != 0) throw std::runtime_error("llama_decode failed (" + std::to_string(rc) + ")");
    return ctx;
}

void LlamaEncoder::read_outputs(llama_context* ctx, size_t n, std::vector<std::vector<float>*>& dest) const {
    for (size_t s = 0; s < n; ++s) {
        const float* e = llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(s));
        if (!e) throw std::runtime_error("llama.cpp gave no pooled embedding");
        std::vector<float>& out = *dest[s];
        if (!normalize_) {
            out = {e[0]};  // rerank: the relevance logit, as llama-server reports it
            continue;
        }
        double sum = 0;
        for (int d = 0; d < n_embd_out_; ++d) sum += static_cast<double>(e[d]) * e[d];
        const float scale = sum > 0 ? static_cast<float>(1.0 / std::sqrt(sum)) : 0.0f;
        out.resize(static_cast<size_t>(n_embd_out_));
        for (int d = 0; d < n_embd_out_; ++d) out[static_cast<size_t>(d)] = e[d] * scale;
    }
}

}  // namespace xinfer
