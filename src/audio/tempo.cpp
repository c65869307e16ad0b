#include "audio/tempo.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace xinfer {

Pcm change_tempo(const Pcm& in, double speed) {
    if (std::fabs(speed - 1.0) < 1e-6 || in.samples.size() < 4096) return in;
    const int window = std::max(64, in.sample_rate / 50);  // 20 ms: shorter than a pitch period's echo
    const int hop = window / 2;                            // output advances half a window per step
    const int search = window / 4;                         // how far to look for the best alignment
    std::vector<float> hann(static_cast<size_t>(window));
    for (int i = 0; i < window; ++i) hann[static_cast<size_t>(i)] = 0.5f - 0.5f * std::cos(2 * M_PI * i / window);

    const auto& x = in.samples;
    const double n_in = static_cast<double>(x.size());
    std::vector<float> out(static_cast<size_t>(n_in / speed) + static_cast<size_t>(window), 0.0f);
    // The input segment that would naturally continue the last one copied (its next half window).
    long prev = 0;
    size_t o = 0;
    for (; o + static_cast<size_t>(window) <= out.size(); o += static_cast<size_t>(hop)) {
        const long target = static_cast<long>(static_cast<double>(o) * speed);
        if (target + window + search >= static_cast<long>(x.size())) break;
        // The offset near target whose window best matches the natural continuation of prev.
        long best = target;
        if (o > 0) {
            double best_score = -1e300;
            const long natural = prev + hop;
            if (natural + window >= static_cast<long>(x.size())) break;
            for (long d = -search; d <= search; ++d) {
                const long c = target + d;
                if (c < 0) continue;
                double score = 0;
                for (int i = 0; i < window; i += 2) score += x[static_cast<size_t>(c + i)] * x[static_cast<size_t>(natural + i)];
                if (score > best_score) best_score = score, best = c;
            }
        }
        for (int i = 0; i < window; ++i) out[o + static_cast<size_t>(i)] += x[static_cast<size_t>(best + i)] * hann[static_cast<size_t>(i)];
        prev = best;
    }
    out.resize(std::min(out.size(), static_cast<size_t>(n_in / speed)));
    Pcm result;
    result.sample_rate = in.sample_rate;
    result.samples = std::move(out);
    return result;
}

}  // namespace xinfer
