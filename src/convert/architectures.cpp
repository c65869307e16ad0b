#include "convert/architectures.h"

namespace xinfer {

// Defined in arch_*.cpp.
extern const Architecture kBertArchitecture;
extern const Architecture kDecoderArchitecture;

const std::vector<Architecture>& architectures() {
    static const std::vector<Architecture> all = {kBertArchitecture, kDecoderArchitecture};
    return all;
}

const Architecture& architecture_for(const HfFolder& folder) {
    for (auto& a : architectures())
        if (a.matches(folder)) return a;
    std::string known;
    for (auto& a : architectures()) known += (known.empty() ? "" : ", ") + std::string(a.name);
    throw ConvertError("xinfer cannot convert architecture '" + (folder.architecture.empty() ? folder.model_type : folder.architecture) +
                       "' (" + folder.dir.string() + "); it converts: " + known);
}

const SourceTensor& require_tensor(const WeightSet& w, const std::string& name, const HfFolder& folder) {
    const SourceTensor* t = w.find(name);
    if (!t) throw ConvertError("the weights in " + folder.dir.string() + " have no tensor '" + name + "'");
    return *t;
}

namespace {
std::vector<int64_t> gguf_shape(const std::vector<int64_t>& torch_shape) {
    return std::vector<int64_t>(torch_shape.rbegin(), torch_shape.rend());
}
}  // namespace

void add_copy(GgufStreamWriter& out, const std::string& name, const SourceTensor& src, const std::string& outtype,
              bool force_f32) {
    OutputTensor t;
    t.name = name;
    t.ne = gguf_shape(src.shape);
    if (t.ne.empty()) t.ne = {1};
    t.type = force_f32 ? GGML_TYPE_F32 : output_type_for(outtype, t.ne);
    const int64_t row = t.ne[0];
    const SourceTensor* s = &src;
    t.produce = [s, row](int64_t first, int64_t rows, float* dst) { read_as_f32(*s, first * row, rows * row, dst); };
    t.written = [s] { release_pages(*s); };
    out.add(std::move(t));
}

void add_row_slice(GgufStreamWriter& out, const std::string& name, const SourceTensor& src, int64_t skip, int64_t rows,
                   const std::string& outtype, bool force_f32) {
    if (src.shape.size() != 2 || skip + rows > src.shape[0])
        throw ConvertError("tensor " + src.name + " does not have the rows " + name + " needs");
    OutputTensor t;
    t.name = name;
    t.ne = {src.shape[1], rows};
    t.type = force_f32 ? GGML_TYPE_F32 : output_type_for(outtype, t.ne);
    const int64_t row = src.shape[1];
    const SourceTensor* s = &src;
    t.produce = [s, row, skip](int64_t first, int64_t n, float* dst) { read_as_f32(*s, (skip + first) * row, n * row, dst); };
    t.written = [s] { release_pages(*s); };
    out.add(std::move(t));
}

}  // namespace xinfer
