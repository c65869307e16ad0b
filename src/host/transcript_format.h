// The response formats of OpenAI's transcription API, from one Transcript: json, text, srt,
// vtt, verbose_json.
#pragma once

#include <string>

#include "engines/speech/speech_engine.h"

namespace xinfer {

struct FormattedTranscript {
    std::string body;
    std::string content_type;
};

bool is_transcript_format(const std::string& format);
// task: "transcribe" or "translate" (verbose_json reports it).
FormattedTranscript format_transcript(const Transcript& t, const std::string& format, const std::string& task);

// "00:01:02,345" (srt) or "00:01:02.345" (vtt).
std::string timestamp(double seconds, char millis_separator);

}  // namespace xinfer
