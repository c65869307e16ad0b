#include "audio/pieces.h"

#include <algorithm>
#include <limits>

namespace xinfer {

std::vector<PcmPiece> split_at_pauses(const Pcm& pcm, double max_seconds, double search_seconds) {
    std::vector<PcmPiece> out;
    const size_t n = pcm.samples.size();
    const size_t limit = std::max<size_t>(1, static_cast<size_t>(max_seconds * pcm.sample_rate));
    const size_t frame = std::max<size_t>(1, static_cast<size_t>(pcm.sample_rate / 10));  // 100 ms
    const size_t search = std::min(limit / 2, static_cast<size_t>(search_seconds * pcm.sample_rate));
    size_t begin = 0;
    while (begin < n) {
        if (n - begin <= limit) {
            out.push_back({begin, n});
            break;
        }
        // The quietest frame between (limit - search) and limit; cut at its middle.
        size_t cut = begin + limit;
        double best = std::numeric_limits<double>::max();
        for (size_t f = begin + limit - search; f + frame <= begin + limit; f += frame / 2) {
            double energy = 0;
            for (size_t i = f; i < f + frame; ++i) energy += static_cast<double>(pcm.samples[i]) * pcm.samples[i];
            if (energy < best) {
                best = energy;
                cut = f + frame / 2;
            }
        }
        out.push_back({begin, cut});
        begin = cut;
    }
    return out;
}

}  // namespace xinfer
