#include "convert/pytorch_bin.h"

#include <stdexcept>

#include "convert/torch_pickle.h"
#include "convert/zip_archive.h"

namespace xinfer {

namespace fs = std::filesystem;

namespace {

// Storage types a converter can read; the others (bool and byte buffers such as attention
// masks) are never weights and are left out of the set.
bool storage_dtype(const std::string& type, SourceDtype& out) {
    if (type == "FloatStorage") out = SourceDtype::f32;
    else if (type == "HalfStorage") out = SourceDtype::f16;
    else if (type == "BFloat16Storage") out = SourceDtype::bf16;
    else if (type == "DoubleStorage") out = SourceDtype::f64;
    else if (type == "LongStorage") out = SourceDtype::i64;
    else if (type == "IntStorage") out = SourceDtype::i32;
    else return false;
    return true;
}

bool is_contiguous(const TorchTensorRecord& r) {
    int64_t expected = 1;
    for (size_t d = r.shape.size(); d-- > 0;) {
        if (r.shape[d] != 1 && r.stride[d] != expected) return false;
        expected *= r.shape[d];
    }
    return true;
}

}  // namespace

bool has_pytorch_bin(const fs::path& folder) {
    return fs::exists(folder / "pytorch_model.bin") || fs::exists(folder / "pytorch_model.bin.index.json");
}

void add_pytorch_bin_file(WeightSet& set, const fs::path& file) {
    auto mapped = std::make_shared<MappedFile>(file);
    const std::string what = file.string();
    if (!looks_like_zip(mapped->data(), mapped->size()))
        throw std::runtime_error(what + ": not a zip archive; files from PyTorch before 1.6 (the legacy format) are not read, "
                                        "save the model again with a newer PyTorch or as safetensors");
    const auto entries = read_stored_zip(mapped->data(), mapped->size(), what);
    // The archive's folder name varies ("archive", "pytorch_model", …): find data.pkl.
    std::string prefix;
    const ZipEntry* pkl = nullptr;
    for (auto& [name, entry] : entries)
        if (name == "data.pkl" || (name.size() > 9 && name.compare(name.size() - 9, 9, "/data.pkl") == 0)) {
            prefix = name.substr(0, name.size() - 8);
            pkl = &entry;
            break;
        }
    if (!pkl) throw std::runtime_error(what + ": no data.pkl in the archive (not written by torch.save)");
    auto order = entries.find(prefix + "byteorder");
    if (order != entries.end() && std::string(reinterpret_cast<const char*>(order->second.data), order->second.size) != "little")
        throw std::runtime_error(what + ": big-endian tensors are not read");
    for (const TorchTensorRecord& r : read_torch_state_dict(pkl->data, pkl->size, what + " (data.pkl)")) {
        SourceTensor t;
        t.name = r.name;
        if (!storage_dtype(r.storage_type, t.dtype)) continue;
        t.shape = r.shape;
        for (int64_t d : t.shape)
            if (d < 0) throw std::runtime_error(what + ": tensor " + r.name + " has a negative dimension");
        if (!is_contiguous(r))
            throw std::runtime_error(what + ": tensor " + r.name + " is a strided view, not a contiguous tensor");
        auto data = entries.find(prefix + "data/" + r.storage_key);
        if (data == entries.end())
            throw std::runtime_error(what + ": tensor " + r.name + " refers to storage " + r.storage_key + ", which the archive lacks");
        const size_t width = dtype_size(t.dtype);
        const uint64_t available = data->second.size / width;
        if (r.offset < 0 || static_cast<uint64_t>(r.offset) > available ||
            static_cast<uint64_t>(t.elements()) > available - static_cast<uint64_t>(r.offset))
            throw std::runtime_error(what + ": tensor " + r.name + " reaches past the end of its storage");
        t.data = data->second.data + r.offset * width;
        t.bytes = static_cast<size_t>(t.elements()) * width;
        set.add(std::move(t));
    }
    set.keep(std::move(mapped));
}

void add_pytorch_bin_folder(WeightSet& set, const fs::path& folder) {
    const fs::path index = folder / "pytorch_model.bin.index.json";
    if (fs::exists(index)) {
        for (auto& s : shards_from_index(index)) add_pytorch_bin_file(set, folder / s);
        return;
    }
    add_pytorch_bin_file(set, folder / "pytorch_model.bin");
}

}  // namespace xinfer
