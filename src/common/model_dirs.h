// The folders models may be launched from (`serve --model-dirs`): a caller who may start models
// names files by path (model_path, a registration's model_uri), and without this could make the
// service open any file it can read. A path is allowed when, with `..` and every symlink
// resolved, it lies inside one of the folders (also resolved): `../` and links out are refused.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xinfer {

class ModelDirs {
public:
    ModelDirs() = default;  // unrestricted
    explicit ModelDirs(const std::vector<std::filesystem::path>& roots);

    bool restricted() const { return restricted_; }
    const std::vector<std::filesystem::path>& roots() const { return roots_; }
    // "" when `path` may be used; otherwise why not, for the caller.
    std::string refusal(const std::string& path) const;

private:
    bool restricted_ = false;
    std::vector<std::filesystem::path> roots_;  // canonical
};

}  // namespace xinfer
