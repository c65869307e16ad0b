// Encodes synthesized speech for the client: wav, pcm (OpenAI's raw 24 kHz s16le), mp3, flac,
// opus (in Ogg), aac (in ADTS), through the ffmpeg libraries.
#pragma once

#include <string>

#include "audio/pcm.h"

namespace xinfer {

// Throws std::invalid_argument for an unknown format, std::runtime_error if encoding fails.
std::string encode_audio(const Pcm& pcm, const std::string& format);
// The Content-Type for a format ("audio/mpeg", ...).
std::string audio_content_type(const std::string& format);
bool is_audio_format(const std::string& format);

// Linear-interpolation-free resampling through libswresample.
Pcm resample(const Pcm& pcm, int rate);

}  // namespace xinfer
