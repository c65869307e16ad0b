#include "common/model_dirs.h"

#include <algorithm>

namespace xinfer {

namespace fs = std::filesystem;

namespace {
// `path` with `..` and symlinks resolved as far as it exists (the rest taken lexically).
fs::path resolved(const fs::path& path) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
    return ec ? fs::absolute(path).lexically_normal() : p;
}

bool inside(const fs::path& path, const fs::path& root) {
    auto r = root.begin(), p = path.begin();
    for (; r != root.end(); ++r, ++p)
        if (p == path.end() || *p != *r) return r != root.end() && r->empty();  // a trailing "/" of the root
    return true;
}
}  // namespace

ModelDirs::ModelDirs(const std::vector<fs::path>& roots) : restricted_(true) {
    for (auto& r : roots)
        if (!r.empty()) roots_.push_back(resolved(r));
}

std::string ModelDirs::refusal(const std::string& path) const {
    if (!restricted_) return "";
    std::string raw = path.rfind("file://", 0) == 0 ? path.substr(7) : path;
    const fs::path p = resolved(raw);
    if (std::any_of(roots_.begin(), roots_.end(), [&](const fs::path& root) { return inside(p, root); })) return "";
    std::string allowed;
    for (auto& r : roots_) allowed += (allowed.empty() ? "" : ", ") + r.string();
    return "model path " + raw + " is outside the folders models may be launched from (" + allowed +
           "); the operator allows more with serve --model-dirs";
}

}  // namespace xinfer
