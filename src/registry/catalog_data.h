// The built-in catalog texts, compiled into the binary from catalog/*.json by
// cmake/embed_catalog.cmake. One file per model type: llm.json, embedding.json, ...
#pragma once

#include <string_view>
#include <vector>

namespace xinfer {

struct CatalogFile {
    std::string_view name;  // file name, e.g. "llm.json"
    std::string_view text;  // its JSON text: an array of specs
};

const std::vector<CatalogFile>& builtin_catalog_files();

}  // namespace xinfer
