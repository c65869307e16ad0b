// libcurl, opened the first time a download needs it rather than linked: linked, it brought about
// twenty shared libraries (TLS twice, Kerberos, LDAP, SSH, IDN, ...) into every xinfer process,
// some 4 MiB of the gateway's idle memory, for downloads most runs never make.
#pragma once

#include <curl/curl.h>

#include <string>

namespace xinfer {

// The libcurl functions xinfer calls, resolved from libcurl.so.4 (Debian's libcurl4). The names
// drop the `curl_` prefix: curl.h's type-checking macros own the original names.
struct CurlLibrary {
    CURLcode (*global_init)(long flags);
    CURL* (*easy_init)();
    CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL* handle);
    CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
    void (*easy_cleanup)(CURL* handle);
    const char* (*easy_strerror)(CURLcode code);
    curl_slist* (*slist_append)(curl_slist* list, const char* text);
    void (*slist_free_all)(curl_slist* list);
};

// Loads libcurl and runs curl_global_init once, on first call (thread-safe); later calls return
// the same table. Throws std::runtime_error naming the package when libcurl is not installed.
const CurlLibrary& curl_library();

// The file the loader opens for libcurl.so.4 on this machine (what a bundle must carry, since no
// program lists it among the libraries it links); empty when libcurl is not installed.
std::string curl_library_file();

}  // namespace xinfer
