// The header of a whisper.cpp model file (ggml-*.bin): the sizes that decide how much memory one
// decoding state takes, read without loading the model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace xinfer {

struct WhisperHparams {
    int32_t n_audio_ctx = 0, n_audio_state = 0, n_audio_layer = 0;
    int32_t n_text_ctx = 0, n_text_state = 0, n_text_layer = 0;
};

// nullopt when the file is not a whisper.cpp model (the model host then reports why at launch).
std::optional<WhisperHparams> read_whisper_hparams(const std::filesystem::path& path);

// Bytes one decoding state holds: whisper.cpp's KV caches (self, cross, pad; f16, exact) plus
// compute buffers scaled from the encoder's size. Matches whisper.cpp's published totals less the
// weights (large ~1 GB a state, base ~250 MB, tiny ~200 MB) and the test model's measured 27 MB.
uint64_t whisper_state_bytes(const WhisperHparams& h);

}  // namespace xinfer
