// Decodes any upload ffmpeg understands (wav, mp3, m4a/mp4, ogg/opus, flac, webm, ...) from
// memory into 16 kHz mono float PCM, the input every speech-to-text engine here wants.
#pragma once

#include <stdexcept>
#include <string>

#include "audio/pcm.h"

namespace xinfer {

// The upload is not usable audio; what() says why in words a user can act on.
struct AudioDecodeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// max_seconds bounds memory for hostile inputs (a tiny file can claim hours of silence).
Pcm decode_audio(const std::string& bytes, int target_rate = 16000, double max_seconds = 4 * 3600.0);

}  // namespace xinfer
