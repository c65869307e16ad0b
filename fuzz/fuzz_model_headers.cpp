// Model files people point xinfer at: the GGUF header (read at launch for size, architecture and
// quantization), whisper.cpp's ggml header, and the HF-format weight files the converter reads
// (safetensors headers, PyTorch zip archives and their pickled state dicts). The first input
// byte picks the parser; a malformed file must be a clear error, never a crash.
#include <cstdint>
#include <stdexcept>

#include "convert/safetensors.h"
#include "convert/torch_pickle.h"
#include "convert/weights.h"
#include "convert/zip_archive.h"
#include "fuzz_util.h"
#include "registry/gguf_info.h"
#include "registry/whisper_info.h"

using namespace xinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t which = data[0] % 5;
    ++data, --size;
    try {
        switch (which) {
            case 0: {
                auto info = read_gguf_info(fuzz::bytes_as_file(data, size, "model.gguf"));
                (void)size_in_billions(info);
                break;
            }
            case 1: {
                if (auto h = read_whisper_hparams(fuzz::bytes_as_file(data, size, "ggml-model.bin"))) (void)whisper_state_bytes(*h);
                break;
            }
            case 2: {
                WeightSet set;
                add_safetensors_file(set, fuzz::bytes_as_file(data, size, "model.safetensors"));
                break;
            }
            case 3: {
                if (looks_like_zip(data, size)) (void)read_stored_zip(data, size, "fuzz.zip");
                break;
            }
            case 4:
                (void)read_torch_state_dict(data, size, "data.pkl");
                break;
        }
    } catch (const std::exception&) {
    }
    return 0;
}
