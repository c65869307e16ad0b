#include "hub/curl_library.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace xinfer {

namespace {

template <typename F>
void resolve(void* handle, F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(handle, name));
    if (!fn) throw std::runtime_error(std::string("libcurl.so.4 lacks ") + name);
}

std::unique_ptr<CurlLibrary> load() {
    // Never closed: curl keeps global state (TLS) for the life of the process. XINFER_LIBCURL
    // names another file (a libcurl of one's own).
    const char* file = std::getenv("XINFER_LIBCURL");
    void* handle = dlopen(file && *file ? file : "libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        throw std::runtime_error(std::string("downloads need libcurl (Debian package libcurl4): ") + dlerror());
    auto lib = std::make_unique<CurlLibrary>();
    resolve(handle, lib->global_init, "curl_global_init");
    resolve(handle, lib->easy_init, "curl_easy_init");
    resolve(handle, lib->easy_setopt, "curl_easy_setopt");
    resolve(handle, lib->easy_perform, "curl_easy_perform");
    resolve(handle, lib->easy_getinfo, "curl_easy_getinfo");
    resolve(handle, lib->easy_cleanup, "curl_easy_cleanup");
    resolve(handle, lib->easy_strerror, "curl_easy_strerror");
    resolve(handle, lib->slist_append, "curl_slist_append");
    resolve(handle, lib->slist_free_all, "curl_slist_free_all");
    if (lib->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("libcurl failed to start");
    return lib;
}

}  // namespace

std::string curl_library_file() {
    // Left open: closing could unload TLS libraries that registered exit handlers; the callers
    // (bundle creation) are short-lived commands.
    void* handle = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    link_map* map = nullptr;
    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name) return "";
    return map->l_name;
}

const CurlLibrary& curl_library() {
    static std::mutex mutex;
    // Never freed, as the library is never closed: a download thread may still hold the table
    // while the process exits.
    static const CurlLibrary* lib = nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    if (!lib) lib = load().release();  // a failed load throws and is tried again by the next download
    return *lib;
}

}  // namespace xinfer
