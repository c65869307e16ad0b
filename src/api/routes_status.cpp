// Health and identity: /status, the root page, the cluster's version and auth switch, and the
// supervisor facts Xinference's CLI asks for (stop-cluster, worker start-up).
#include <thread>

#include "api/http_util.h"
#include "api/routes.h"

namespace xinfer {

namespace {
// GET / answers 200 (container health checks run `curl -f http://host:9997`) with a page that
// points a person at the API. The web UI will live at /ui.
const char* kRootPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xinfer</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:3em auto;padding:0 1em}code{background:#eee;padding:0 .3em}</style>
</head><body>
<h1>xinfer is running</h1>
<p>One service for chat, embeddings, rerank, speech to text and text to speech, speaking the OpenAI
and Xinference APIs.</p>
<ul>
<li><a href="/v1/models">/v1/models</a>: running models</li>
<li><a href="/v1/model_registrations/LLM">/v1/model_registrations/LLM</a>: models it can launch (also
<code>embedding</code>, <code>rerank</code>, <code>audio</code>)</li>
<li><a href="/v1/cluster/info">/v1/cluster/info</a>: cores, memory, GPUs and what holds them</li>
<li><a href="/status">/status</a> and <a href="/metrics">/metrics</a></li>
</ul>
<p>Launch with <code>xinfer launch --model-name NAME --model-type TYPE --model-path PATH</code>
(or <code>xinference launch ...</code>); call <code>POST /v1/chat/completions</code>,
<code>/v1/embeddings</code>, <code>/v1/rerank</code>, <code>/v1/audio/transcriptions</code>,
<code>/v1/audio/speech</code>.</p>
</body></html>
)";
}  // namespace

void add_status_routes(httplib::Server& server, std::function<std::string()> address, std::function<void()> request_shutdown) {
    server.Get("/", guarded([](const httplib::Request&, httplib::Response& res) {
        res.set_content(kRootPage, "text/html; charset=utf-8");
    }));
    server.Get("/status", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"status", "ok"}, {"version", XINFER_VERSION}});
    }));
    server.Get("/v1/cluster/version", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"version", XINFER_VERSION}, {"full-revisionid", ""}, {"dirty", false}, {"error", nullptr}});
    }));
    // Xinference's client reads {"auth": bool} before anything else.
    server.Get("/v1/cluster/auth", guarded([](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"auth", false}});
    }));
    server.Get("/v1/supervisor", guarded([address](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"supervisor_ip", address()}});
    }));
    server.Get("/v1/address", guarded([address](const httplib::Request&, httplib::Response& res) {
        send_json(res, address());
    }));
    // `xinference stop-cluster`: a graceful stop, as SIGTERM (requests in flight finish, engines
    // stop, launched models come back at the next start). The answer goes out first.
    server.Delete("/v1/clusters", guarded([request_shutdown](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"result", true}});
        std::thread([request_shutdown] {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            request_shutdown();
        }).detach();
    }));
}

}  // namespace xinfer
