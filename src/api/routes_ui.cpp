// The web UI: `/` redirects to `/ui/` (a 3xx still passes `curl -f` health checks), and `/ui/…`
// serves the files web/build.mjs embedded, gzip-compressed as built (decompressed for the rare
// client that does not accept gzip), with ETags; content-hashed files are cached for a year.
// Hash routes (/ui/#/running_models/LLM) are the page's business: every /ui/ path that is not a
// file answers index.html, so a bookmark or a reload lands on the app.
#include <zlib.h>

#include <string>

#include "api/http_util.h"
#include "api/routes.h"
#include "api/web_assets.h"

namespace xinfer {

namespace {

const WebAsset* find_asset(const std::string& path) {
    for (auto& a : web_assets())
        if (a.path == path) return &a;
    return nullptr;
}

std::string gunzip(std::string_view gz) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return {};
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    std::string out;
    char buf[65536];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    }
    inflateEnd(&z);
    return out;
}

void send_asset(const httplib::Request& req, httplib::Response& res, const WebAsset& a) {
    res.set_header("ETag", std::string(a.etag));
    res.set_header("Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    res.set_header("Vary", "Accept-Encoding");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (req.get_header_value("If-None-Match") == a.etag) {
        res.status = 304;
        return;
    }
    if (req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos) {
        res.set_header("Content-Encoding", "gzip");
        res.set_content(std::string(a.gzip), std::string(a.content_type));
    } else {
        res.set_content(gunzip(a.gzip), std::string(a.content_type));
    }
}

}  // namespace

void add_ui_routes(httplib::Server& server) {
    server.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/", 307); });
    server.Get("/ui", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/", 307); });
    server.Get(R"(/ui/(.*))", [](const httplib::Request& req, httplib::Response& res) {
        const std::string path = req.matches[1];
        const WebAsset* a = find_asset(path.empty() ? "index.html" : path);
        if (!a && path.find('.') != std::string::npos) {  // a file that is not there
            res.status = 404;
            res.set_content("not found", "text/plain");
            return;
        }
        send_asset(req, res, a ? *a : *find_asset("index.html"));
    });
}

}  // namespace xinfer
