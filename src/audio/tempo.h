// Speech faster or slower at the same pitch (WSOLA: overlapping windows taken at the new pace and
// joined where the waveforms line up best), for engines that cannot change their own pace.
#pragma once

#include "audio/pcm.h"

namespace xinfer {

// speed > 1: shorter; < 1: longer (duration / speed). speed 1 returns the input.
Pcm change_tempo(const Pcm& pcm, double speed);

}  // namespace xinfer
