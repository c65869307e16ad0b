// English speech-to-text with CMU pocketsphinx and Debian's en-us acoustic model, language
// model and dictionary: works offline with no download. A decoder holds both the model and the
// search state, so the engine keeps a small pool of decoders, one per concurrent request.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engines/speech/speech_engine.h"

typedef struct ps_decoder_s ps_decoder_t;

namespace xinfer {

class PocketsphinxStt : public SpeechToText {
public:
    // model_dir holds en-us/, en-us.lm.bin and cmudict-en-us.dict (Debian: /usr/share/pocketsphinx/model/en-us).
    PocketsphinxStt(const std::string& model_dir, int decoders);
    ~PocketsphinxStt() override;
    Transcript transcribe(const Pcm& pcm, const TranscribeOptions& options) override;

private:
    ps_decoder_t* take();
    void give(ps_decoder_t* d);
    std::mutex mu_;
    std::condition_variable available_;
    std::vector<ps_decoder_t*> idle_, all_;
};

std::string default_pocketsphinx_model_dir();

}  // namespace xinfer
