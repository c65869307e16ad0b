// English text-to-speech with CMU flite and its built-in voices (slt, awb, rms, kal16, kal).
// OpenAI voice names are mapped onto them so OpenAI clients work unchanged.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "engines/speech/speech_engine.h"

struct cst_voice_struct;

namespace xinfer {

class FliteTts : public TextToSpeech {
public:
    FliteTts();
    Pcm synthesize(const std::string& text, const std::string& voice, double speed) override;
    std::vector<std::string> voices() const override;

private:
    std::map<std::string, cst_voice_struct*> voices_;
    std::mutex mu_;  // flite keeps global state: one synthesis at a time
};

}  // namespace xinfer
