// Speech-to-text with whisper.cpp: one loaded model (shared, read-only) and a fixed set of decoding
// slots, each a long-lived compute thread owning one whisper_state (whisper.cpp's model/state
// split), so concurrent requests decode in parallel instead of queueing behind a global lock.
// Multilingual models detect the language and translate.
//
// Why dedicated threads rather than decoding on the caller's (an HTTP worker's) thread: ggml's
// OpenMP runtime keeps a thread team per calling thread, and once the teams together hold more
// threads than there are CPUs it stops spin-waiting at barriers and sleeps instead; whisper then
// ran ~20% slower behind the HTTP server than in a plain program. A fixed caller per slot keeps
// the teams at `concurrency` x `threads`, and a kept state saves its allocation per request.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engines/speech/speech_engine.h"

struct whisper_context;
struct whisper_state;

namespace xinfer {

class WhisperStt : public SpeechToText {
public:
    // Throws std::runtime_error when the file is not a whisper model whisper.cpp can load.
    WhisperStt(const std::string& model_path, int concurrency, int threads, bool use_gpu = false);
    ~WhisperStt() override;
    Transcript transcribe(const Pcm& pcm, const TranscribeOptions& options) override;

private:
    void slot_loop(whisper_state* state);
    void shutdown();  // lets queued work finish, stops the slots, frees the model
    // lang: the request's language, lower-cased and already checked against the model.
    Transcript decode(whisper_state* state, const Pcm& pcm, const TranscribeOptions& options, const std::string& lang,
                      bool multilingual) const;

    whisper_context* ctx_ = nullptr;
    int threads_;
    std::mutex mu_;
    std::condition_variable work_ready_;
    std::deque<std::function<void(whisper_state*)>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> slots_;
};

}  // namespace xinfer
