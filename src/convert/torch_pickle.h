// A restricted reader for the pickle inside PyTorch's pytorch_model.bin (data.pkl): it understands
// exactly what torch.save writes for a state dict (an OrderedDict of tensors, each a
// torch._utils._rebuild_tensor_v2 call on a persistent storage record) and refuses every other
// global, so a hostile file can name os.system all it likes: nothing is ever called or imported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xinfer {

struct TorchTensorRecord {
    std::string name;          // the state-dict key, e.g. "encoder.layer.0.attention.self.query.weight"
    std::string storage_type;  // "FloatStorage", "HalfStorage", "BFloat16Storage", …
    std::string storage_key;   // the storage's file under <archive>/data/
    int64_t storage_elements = 0;
    int64_t offset = 0;        // in elements
    std::vector<int64_t> shape;
    std::vector<int64_t> stride;
};

// Reads the state dict pickled in `pkl` (a torch.save of a dict of tensors; a checkpoint that
// wraps it as {"state_dict": …} is unwrapped). Throws std::runtime_error, prefixed with `what`,
// naming the refused global or the malformed opcode.
std::vector<TorchTensorRecord> read_torch_state_dict(const uint8_t* pkl, size_t size, const std::string& what);

}  // namespace xinfer
