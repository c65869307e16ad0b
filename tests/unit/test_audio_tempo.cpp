// Speech made faster or slower keeps its pitch, and long recordings are cut where it is quiet.
#include <gtest/gtest.h>

#include <cmath>

#include "audio/pieces.h"
#include "audio/tempo.h"

namespace xinfer {
namespace {

Pcm tone(double hz, double seconds, int rate = 24000) {
    Pcm p;
    p.sample_rate = rate;
    p.samples.resize(static_cast<size_t>(seconds * rate));
    for (size_t i = 0; i < p.samples.size(); ++i) p.samples[i] = 0.5f * static_cast<float>(std::sin(2 * M_PI * hz * i / rate));
    return p;
}

// Upward zero crossings per second: the frequency of a pure tone.
double frequency(const Pcm& p, size_t from, size_t to) {
    int crossings = 0;
    for (size_t i = from + 1; i < to; ++i) crossings += p.samples[i - 1] < 0 && p.samples[i] >= 0;
    return crossings * static_cast<double>(p.sample_rate) / static_cast<double>(to - from);
}

TEST(Tempo, FasterAndSlowerSpeechKeepsItsPitchAndScalesItsLength) {
    const Pcm in = tone(220, 4.0);
    for (double speed : {0.5, 0.8, 1.5, 2.0, 4.0}) {
        const Pcm out = change_tempo(in, speed);
        EXPECT_NEAR(out.seconds(), 4.0 / speed, 0.01) << speed;
        // Away from the edges, the tone is the same tone (a resampler would give 220 x speed).
        const size_t margin = out.samples.size() / 10;
        EXPECT_NEAR(frequency(out, margin, out.samples.size() - margin), 220.0, 6.0) << speed;
    }
    EXPECT_EQ(change_tempo(in, 1.0).samples, in.samples);
}

TEST(Pieces, LongRecordingsAreCutAtTheQuietestMomentNearTheLimit) {
    Pcm p = tone(300, 70.0, 16000);
    // Silence at 26.0-26.4 s: inside the last 5 s before the 30 s limit.
    for (size_t i = 26 * 16000; i < static_cast<size_t>(26.4 * 16000); ++i) p.samples[i] = 0;
    const auto pieces = split_at_pauses(p, 30.0);
    ASSERT_GE(pieces.size(), 3u);
    EXPECT_EQ(pieces[0].begin, 0u);
    EXPECT_NEAR(pieces[0].end / 16000.0, 26.2, 0.15);
    for (size_t i = 1; i < pieces.size(); ++i) EXPECT_EQ(pieces[i].begin, pieces[i - 1].end);
    EXPECT_EQ(pieces.back().end, p.samples.size());
    for (auto& piece : pieces) EXPECT_LE(piece.end - piece.begin, 30u * 16000);
}

}  // namespace
}  // namespace xinfer
