// Text-to-speech in 100+ languages (Mandarin among them) with espeak-ng. espeak-ng is GPL, so
// it runs as a separate program (`espeak-ng -w FILE`), never linked into xinfer.
#pragma once

#include <string>

#include "engines/speech/speech_engine.h"

namespace xinfer {

class EspeakTts : public TextToSpeech {
public:
    explicit EspeakTts(std::string program = "espeak-ng");
    Pcm synthesize(const std::string& text, const std::string& voice, double speed) override;
    std::vector<std::string> voices() const override;

private:
    std::string program_;
};

}  // namespace xinfer
