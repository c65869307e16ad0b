// The two speech engine roles the model host serves. An engine object is the loaded model
// (whisper.cpp's model/state split: shared, read-only weights); each call works on its own
// state, so concurrent requests never share mutable decoder state.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "audio/pcm.h"

namespace xinfer {

// A request an engine cannot honour (language, translation, voice): a 400 for the client.
struct UnsupportedRequest : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TranscriptSegment {
    double start = 0, end = 0;  // seconds
    std::string text;
};

struct Transcript {
    std::string text;
    std::string language;  // ISO 639-1, e.g. "en"
    double duration = 0;   // seconds of audio
    std::vector<TranscriptSegment> segments;
};

struct TranscribeOptions {
    std::string language;  // empty: the engine's default / detection
    std::string prompt;
    float temperature = 0;
    bool temperature_given = false;  // given: decode at exactly that temperature, no fallback
    bool translate = false;  // into English
};

class SpeechToText {
public:
    virtual ~SpeechToText() = default;
    // pcm is 16 kHz mono. Throws UnsupportedRequest for options the engine cannot honour.
    virtual Transcript transcribe(const Pcm& pcm, const TranscribeOptions& options) = 0;
};

// What a neural voice model takes beyond text, voice and speed.
struct SpeechOptions {
    std::string language;     // empty: the model's default
    const Pcm* speaker = nullptr;  // a reference recording whose voice is cloned (any rate, mono)
};

class TextToSpeech {
public:
    virtual ~TextToSpeech() = default;
    // speed: 0.25 .. 4.0 (1 = natural). Throws UnsupportedRequest for an unknown voice.
    virtual Pcm synthesize(const std::string& text, const std::string& voice, double speed) = 0;
    // With a language or a voice to clone: engines that cannot honour them refuse (a 400).
    virtual Pcm synthesize(const std::string& text, const std::string& voice, double speed, const SpeechOptions& options) {
        if (options.speaker) throw UnsupportedRequest("this model cannot clone a voice (it has no speaker encoder)");
        if (!options.language.empty())
            throw UnsupportedRequest("this model speaks the language of its voice; 'language' is not an option for it");
        return synthesize(text, voice, speed);
    }
    virtual std::vector<std::string> voices() const = 0;
};

}  // namespace xinfer
