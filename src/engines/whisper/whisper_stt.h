// Speech-to-text with whisper.cpp: one loaded model (shared, read-only), one whisper_state per
// request (whisper.cpp's model/state split), so concurrent requests decode in parallel instead
// of queueing behind a global lock. Multilingual models detect the language and translate.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>

#include "engines/speech/speech_engine.h"

struct whisper_context;

namespace xinfer {

class WhisperStt : public SpeechToText {
public:
    // Throws std::runtime_error when the file is not a whisper model whisper.cpp can load.
    WhisperStt(const std::string& model_path, int concurrency, int threads, bool use_gpu = false);
    ~WhisperStt() override;
    Transcript transcribe(const Pcm& pcm, const TranscribeOptions& options) override;

private:
    whisper_context* ctx_ = nullptr;
    int threads_;
    int free_slots_;
    std::mutex mu_;
    std::condition_variable slot_freed_;
};

}  // namespace xinfer
