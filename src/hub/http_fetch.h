// HTTP for model downloads, on libcurl (TLS, redirects, proxies from http_proxy/https_proxy/
// no_proxy as curl reads them). Small requests (hub APIs, a GGUF header) come back in memory;
// files stream to disk with resume (Range), SHA-256 while writing, retries with back-off that
// honour Retry-After, a stall timeout, cancellation, and an atomic rename when complete.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace xinfer {

struct FetchOptions {
    std::vector<std::string> headers;   // e.g. "Authorization: Bearer hf_…"
    int attempts = 6;                   // tries per request before giving up
    long connect_timeout_s = 15;
    long stall_timeout_s = 30;          // no byte for this long: the attempt fails (and is retried)
    double first_backoff_s = 1;         // doubles per failed attempt, capped at 30 s; Retry-After wins
    const std::atomic<bool>* cancel = nullptr;
};

// The options downloads use by default: XINFER_HUB_STALL_TIMEOUT and XINFER_HUB_RETRIES (for
// flaky links or tests) override the stall timeout and the attempts.
FetchOptions default_fetch_options();

struct HttpResponse {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // of the final response, names in lower case
    std::string url;                             // after redirects
};

// An HTTP failure that retrying will not fix (4xx other than 408/429), or the last one after
// every attempt; `status` 0 when no response came (DNS, refused, timeout).
struct FetchError : std::runtime_error {
    FetchError(const std::string& what, long status) : std::runtime_error(what), status(status) {}
    long status;
};

// Thrown when FetchOptions::cancel was set during the transfer.
struct FetchCancelled : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// GET (or HEAD when `head`) into memory. Retries 408/429/5xx and transport errors; returns any
// other response, 4xx included, for the caller to word. `range` as in "0-1048575".
HttpResponse http_get(const std::string& url, const FetchOptions& options, const std::string& range = "", bool head = false);

// Bytes received so far (including any earlier partial download) of `total` (0: unknown).
using ByteProgress = std::function<void(uint64_t received, uint64_t total)>;

// Downloads `url` to `dest` through `dest`.incomplete: resumes a partial file left by an earlier
// attempt, checks the size and (when given) the SHA-256, then renames. A file that fails the
// check is deleted and the error says which file and why; a cancelled download leaves nothing.
void download_file(const std::string& url, const std::filesystem::path& dest, uint64_t expected_size,
                   const std::string& expected_sha256, const FetchOptions& options, const ByteProgress& progress);

}  // namespace xinfer
