// Text-to-speech with llama.cpp's audio generation (libmtmd): Qwen3-TTS (a talker GGUF plus a
// projector GGUF holding the speaker encoder, the code predictor and the waveform decoder) and
// Pocket TTS (a backbone plus a projector holding the mimi voice encoder, a flow network and the
// mimi decoder), 24 kHz. One loaded talker (shared); each slot of the SlotPool owns what one request
// changes: a llama_context, its own projector context (llama.cpp's projector keeps per-call
// buffers, so two requests cannot share one), the generation helper and a sampler.
//
// A voice is cloned from a reference recording (the speaker encoder's x-vector); without one
// Qwen3-TTS speaks in its own voice, while Pocket TTS has none of its own and needs one. For
// Qwen3-TTS `language` picks its language token (zh, en, de, it, pt, es, ja, ko, fr, ru, or the
// names); Pocket TTS speaks the language of its weights. Speed is applied afterwards at the same
// pitch (WSOLA).
#pragma once

#include <string>

#include "engines/speech/slot_pool.h"
#include "engines/speech/speech_engine.h"

struct llama_model;

namespace xinfer {

class MtmdTts : public TextToSpeech {
public:
    // Throws std::runtime_error when a file cannot be loaded or the projector generates no audio.
    MtmdTts(const std::string& model_path, const std::string& projector_path, int concurrency, int threads, bool use_gpu);
    ~MtmdTts() override;
    Pcm synthesize(const std::string& text, const std::string& voice, double speed) override;
    Pcm synthesize(const std::string& text, const std::string& voice, double speed, const SpeechOptions& options) override;
    std::vector<std::string> voices() const override { return {"default"}; }

    struct Slot;  // one request's state (mtmd_tts.cpp)

private:
    void shutdown();

    llama_model* model_ = nullptr;
    bool clones_ = false;  // the projector has a speaker encoder
    bool needs_voice_ = false;  // Pocket TTS: no voice of its own
    int sample_rate_ = 24000, speaker_rate_ = 16000;
    SlotPool<Slot> slots_;
};

}  // namespace xinfer
