// Audio inside xinfer: mono float samples in [-1, 1] at a known rate.
#pragma once

#include <vector>

namespace xinfer {

struct Pcm {
    std::vector<float> samples;
    int sample_rate = 16000;
    double seconds() const { return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0; }
};

}  // namespace xinfer
