// Long recordings in bounded pieces: an engine whose cost or context grows with the audio's
// length decodes a meeting recording piece by piece, each cut at the quietest moment near the
// limit so that words are not split.
#pragma once

#include <cstddef>
#include <vector>

#include "audio/pcm.h"

namespace xinfer {

struct PcmPiece {
    size_t begin = 0, end = 0;  // sample range [begin, end)
};

// Pieces of at most max_seconds covering all of `pcm` in order. A cut lands at the quietest
// 100 ms (lowest energy) in the last `search_seconds` before the limit.
std::vector<PcmPiece> split_at_pauses(const Pcm& pcm, double max_seconds, double search_seconds = 5.0);

}  // namespace xinfer
