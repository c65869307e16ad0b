// Speech-to-text with llama.cpp's audio models (libmtmd): Qwen3-ASR and its kind, a text decoder
// GGUF plus an audio projector GGUF (mmproj). One loaded model and projector (shared), and a
// SlotPool of llama_contexts (one per concurrent request), as whisper.cpp's model/state split.
// The projector's encoder has one compute graph, so audio encoding takes turns (a mutex) while
// prompt decoding and generation run in parallel on each request's own context.
//
// Qwen3-ASR's conventions: the system message carries the context prompt, the user message is
// the audio alone, and the answer reads "language English<asr_text>the words"; a language the
// client names is forced by writing that prefix. Long recordings are decoded in pieces of at
// most 30 s (each a segment with its time span: the model gives no finer timestamps).
#pragma once

#include <mutex>
#include <string>

#include "engines/speech/slot_pool.h"
#include "engines/speech/speech_engine.h"

struct llama_model;
struct llama_context;
struct mtmd_context;

namespace xinfer {

class MtmdStt : public SpeechToText {
public:
    // Throws std::runtime_error when either file cannot be loaded or the projector takes no audio.
    MtmdStt(const std::string& model_path, const std::string& projector_path, int concurrency, int threads, bool use_gpu);
    ~MtmdStt() override;
    Transcript transcribe(const Pcm& pcm, const TranscribeOptions& options) override;

private:
    struct Piece {
        std::string text, language;
    };
    // language: the name the model writes ("English"), empty to let the model say.
    Piece decode_piece(llama_context* ctx, const float* samples, size_t n, const TranscribeOptions& opt,
                       const std::string& language);
    void shutdown();

    llama_model* model_ = nullptr;
    mtmd_context* mtmd_ = nullptr;
    std::mutex encode_mu_;
    int threads_;
    SlotPool<llama_context> slots_;
};

}  // namespace xinfer
