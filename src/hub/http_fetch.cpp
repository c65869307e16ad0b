#include "hub/http_fetch.h"
#include "common/text.h"

#include "hub/curl_library.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hub/sha256.h"

namespace xinfer {

namespace fs = std::filesystem;

namespace {

// What one attempt saw.
struct Transfer {
    long status = 0;
    std::map<std::string, std::string> headers;
    std::string url;
    CURLcode code = CURLE_OK;
    char error[CURL_ERROR_SIZE] = {0};
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): its status, fresh headers
        t->headers.clear();
        if (auto sp = line.find(' '); sp != std::string::npos) t->status = std::atol(line.c_str() + sp + 1);
    }
    if (auto colon = line.find(':'); colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
        t->headers[lower(line.substr(0, colon))] = value;
    }
    return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* cancel = static_cast<const std::atomic<bool>*>(user);
    return cancel && cancel->load() ? 1 : 0;
}

// One request; `sink` receives the body. Sets up what every request shares.
void perform(Transfer& t, const std::string& url, const FetchOptions& o, const std::string& range, bool head,
             size_t (*sink)(char*, size_t, size_t, void*), void* sink_user) {
    // A missing libcurl is not a FetchError: no mirror would do better, so it goes straight up.
    const CurlLibrary* curl = &curl_library();
    CURL* c = curl->easy_init();
    if (!c) throw FetchError("cannot start an HTTP request", 0);
    curl_slist* headers = nullptr;
    for (auto& h : o.headers) headers = curl->slist_append(headers, h.c_str());
    curl->easy_setopt(c, CURLOPT_URL, url.c_str());
    curl->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // the hubs redirect files to their CDNs
    curl->easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl->easy_setopt(c, CURLOPT_USERAGENT, "xinfer");
    curl->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
    curl->easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl->easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o.stall_timeout_s);
    curl->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl->easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer, larger writes for big files
    curl->easy_setopt(c, CURLOPT_ERRORBUFFER, t.error);
    curl->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl->easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl->easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl->easy_setopt(c, CURLOPT_WRITEDATA, sink_user);
    curl->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl->easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(o.cancel));
    if (head) curl->easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (!range.empty()) curl->easy_setopt(c, CURLOPT_RANGE, range.c_str());
    t.code = curl->easy_perform(c);
    curl->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
    char* effective = nullptr;
    curl->easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
    if (effective) t.url = effective;
    curl->slist_free_all(headers);
    curl->easy_cleanup(c);
    if (t.code == CURLE_ABORTED_BY_CALLBACK) throw FetchCancelled("download cancelled");
}

bool retryable(long status) { return status == 408 || status == 429 || status >= 500; }

// Seconds to wait before the next attempt: Retry-After (seconds) when the server gave one.
double backoff_seconds(const Transfer& t, const FetchOptions& o, int attempt) {
    if (auto it = t.headers.find("retry-after"); it != t.headers.end()) {
        char* end = nullptr;
        const double s = std::strtod(it->second.c_str(), &end);
        if (end != it->second.c_str() && s >= 0) return std::min(s, 300.0);
    }
    return std::min(30.0, o.first_backoff_s * (1 << std::min(attempt, 5)));
}

void wait_or_cancel(double seconds, const FetchOptions& o) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        if (o.cancel && o.cancel->load()) throw FetchCancelled("download cancelled");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

std::string describe(const Transfer& t, const std::string& url) {
    if (t.code != CURLE_OK) return url + ": " + (t.error[0] ? t.error : curl_library().easy_strerror(t.code));
    return url + ": HTTP " + std::to_string(t.status);
}

size_t to_string(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

// A download's sink: appends to the partial file and hashes. The status is known (from the
// header callback) before the first body byte: an error body is kept for the message, and a
// resumed request answered with the whole file (200, not 206) starts the file over.
struct FileSink {
    Transfer* t = nullptr;
    FILE* f = nullptr;
    Sha256* hash = nullptr;
    uint64_t received = 0, total = 0;
    bool resumed = false, started = false, write_failed = false;
    std::string error_body;
    const ByteProgress* progress = nullptr;
};

size_t to_file(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<FileSink*>(user);
    const size_t bytes = size * n;
    if (s->t->status >= 300) {
        if (s->error_body.size() < 2000) s->error_body.append(data, std::min<size_t>(bytes, 2000));
        return bytes;
    }
    if (!s->started) {
        s->started = true;
        if (s->resumed && s->t->status == 200) {
            if (std::fflush(s->f) != 0 || ftruncate(fileno(s->f), 0) != 0 || std::fseek(s->f, 0, SEEK_SET) != 0) return 0;
            if (s->hash) s->hash->reset();
            s->received = 0;
        }
    }
    if (std::fwrite(data, 1, bytes, s->f) != bytes) {
        s->write_failed = true;
        return 0;  // curl stops with a write error
    }
    if (s->hash) s->hash->update(data, bytes);
    s->received += bytes;
    if (s->progress && *s->progress) (*s->progress)(s->received, s->total);
    return bytes;
}

}  // namespace

FetchOptions default_fetch_options() {
    FetchOptions o;
    if (const char* s = std::getenv("XINFER_HUB_STALL_TIMEOUT"); s && std::atol(s) > 0) o.stall_timeout_s = std::atol(s);
    if (const char* s = std::getenv("XINFER_HUB_RETRIES"); s && std::atoi(s) > 0) o.attempts = std::atoi(s);
    return o;
}

HttpResponse http_get(const std::string& url, const FetchOptions& o, const std::string& range, bool head) {
    for (int attempt = 0;; ++attempt) {
        std::string body;
        Transfer t;
        perform(t, url, o, range, head, to_string, &body);
        const bool transport_failed = t.code != CURLE_OK;
        if (!transport_failed && !retryable(t.status)) return {t.status, std::move(body), std::move(t.headers), t.url};
        // A name that does not resolve or a host that refuses is not going to answer in a few
        // seconds: say so at once (an offline machine must not wait through every back-off).
        const bool unreachable = t.code == CURLE_COULDNT_RESOLVE_HOST || t.code == CURLE_COULDNT_RESOLVE_PROXY ||
                                 t.code == CURLE_COULDNT_CONNECT;
        if (unreachable || attempt + 1 >= o.attempts)
            throw FetchError(describe(t, url) + " (after " + std::to_string(attempt + 1) + " attempts)", transport_failed ? 0 : t.status);
        wait_or_cancel(backoff_seconds(t, o, attempt), o);
    }
}

void download_file(const std::string& url, const fs::path& dest, uint64_t expected_size, const std::string& expected_sha256,
                   const FetchOptions& o, const ByteProgress& progress) {
    curl_library();  // without libcurl, fail before any file is made
    const fs::path partial = dest.string() + ".incomplete";
    fs::create_directories(dest.parent_path());
    auto discard = [&] {
        std::error_code ec;
        fs::remove(partial, ec);
    };
    for (int attempt = 0;; ++attempt) {
        std::error_code ec;
        uint64_t have = fs::exists(partial, ec) ? fs::file_size(partial, ec) : 0;
        if (expected_size > 0 && have > expected_size) {  // not this file: start over
            discard();
            have = 0;
        }
        Transfer t;
        Sha256 hash;
        FILE* f = nullptr;
        FileSink sink;
        // Hashed while written, when there is a hash to check (a resumed file's first part too).
        Sha256* hashing = expected_sha256.empty() ? nullptr : &hash;
        if (expected_size == 0 || have < expected_size) {
            if (have > 0 && hashing) sha256_update_from_file(hash, partial, have);
            f = std::fopen(partial.c_str(), have > 0 ? "ab" : "wb");
            if (!f) throw FetchError("cannot write " + partial.string() + ": " + std::strerror(errno), 0);
            std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
            sink = FileSink{&t, f, hashing, have, expected_size, have > 0, false, false, {}, &progress};
            try {
                perform(t, url, o, have > 0 ? std::to_string(have) + "-" : "", false, to_file, &sink);
            } catch (const FetchCancelled&) {
                std::fclose(f);
                discard();
                throw;
            } catch (...) {
                std::fclose(f);  // what arrived stays for the next attempt to resume
                throw;
            }
            const bool closed = std::fclose(f) == 0;
            if (sink.write_failed || !closed) {
                discard();
                throw FetchError("cannot write " + partial.string() + " (disk full?)", 0);
            }
        } else {
            if (hashing) sha256_update_from_file(hash, partial, have);  // complete already: only the checks remain
            t.status = 206;
        }
        const bool transport_failed = t.code != CURLE_OK;
        if (!transport_failed && t.status >= 400 && !retryable(t.status)) {
            if (t.status == 416) discard();  // the partial file does not fit what the server has
            std::string detail = sink.error_body.substr(0, 300);
            throw FetchError(describe(t, url) + (detail.empty() ? "" : ": " + detail), t.status);
        }
        if (transport_failed || retryable(t.status)) {
            // A broken connection keeps what arrived: the next attempt resumes from there, and a
            // cut that brought bytes does not count against the limit (only failures in a row
            // do). A stall always counts: a server that trickles and stops would never end.
            if (sink.received > have && t.code != CURLE_OPERATION_TIMEDOUT) attempt = -1;
            if (attempt + 1 >= o.attempts)
                throw FetchError(describe(t, url) + " (after " + std::to_string(attempt + 1) + " attempts)",
                                 transport_failed ? 0 : t.status);
            wait_or_cancel(backoff_seconds(t, o, attempt), o);
            continue;
        }
        const uint64_t size = fs::file_size(partial, ec);
        if (expected_size > 0 && size != expected_size) {
            discard();
            throw FetchError(dest.filename().string() + ": received " + std::to_string(size) + " bytes, the hub lists " +
                                 std::to_string(expected_size) + "; the partial file was removed",
                             0);
        }
        const std::string digest = hashing ? hash.hex() : "";
        if (hashing && lower(expected_sha256) != digest) {
            discard();
            throw FetchError(dest.filename().string() + " is corrupt: its SHA-256 is " + digest + ", the hub lists " +
                                 expected_sha256 + "; nothing was kept",
                             0);
        }
        fs::rename(partial, dest);
        return;
    }
}

}  // namespace xinfer
