// The web UI's files, built by web/build.mjs and embedded in the binary (gzip-compressed).
#pragma once

#include <string_view>
#include <vector>

namespace xinfer {

struct WebAsset {
    std::string_view path;          // under /ui/, e.g. "index.html", "main-3F2A.js"
    std::string_view content_type;
    std::string_view gzip;          // the file, gzip-compressed
    std::string_view etag;          // quoted
    bool immutable;                 // content-hashed name: cacheable for a year
};

const std::vector<WebAsset>& web_assets();

}  // namespace xinfer
