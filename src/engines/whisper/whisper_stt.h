// Speech-to-text with whisper.cpp: one loaded model (shared, read-only) and a fixed set of decoding
// slots (SlotPool), each owning one whisper_state (whisper.cpp's model/state split), so concurrent
// requests decode in parallel. Multilingual models detect the language and translate.
#pragma once

#include <string>

#include "engines/speech/slot_pool.h"
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
    void shutdown();  // lets queued work finish, stops the slots, frees the model
    // lang: the request's language, lower-cased and already checked against the model.
    Transcript decode(whisper_state* state, const Pcm& pcm, const TranscribeOptions& options, const std::string& lang,
                      bool multilingual) const;

    whisper_context* ctx_ = nullptr;
    int threads_;
    SlotPool<whisper_state> slots_;
};

}  // namespace xinfer
