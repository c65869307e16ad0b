// OpenAI's audio endpoints, served by speech model replicas (`xinfer host`). Uploads are
// checked here (a file is there, the model fits the task), then forwarded to the replica;
// answers (JSON, text, subtitles, audio, streamed audio) pass through untouched.
#include "api/caller.h"
#include "api/http_util.h"
#include "api/proxy.h"
#include "api/routes.h"
#include "common/json_util.h"

namespace xinfer {

namespace {

// The parsed form again as one multipart body (httplib parses uploads into fields and files and
// keeps no raw body to forward).
std::string multipart_body(const httplib::MultipartFormData& form, std::string& content_type) {
    const std::string boundary = "xinfer-boundary-7d1f0c9a3b5e";
    std::string out;
    for (auto& [name, field] : form.fields)
        out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + field.content + "\r\n";
    for (auto& [name, file] : form.files) {
        out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" +
               (file.filename.empty() ? "audio" : file.filename) + "\"\r\nContent-Type: " +
               (file.content_type.empty() ? "application/octet-stream" : file.content_type) + "\r\n\r\n";
        out += file.content;
        out += "\r\n";
    }
    out += "--" + boundary + "--\r\n";
    content_type = "multipart/form-data; boundary=" + boundary;
    return out;
}

Handler transcription(Supervisor& sup, const char* path) {
    return guarded([&sup, path](const httplib::Request& req, httplib::Response& res) {
        if (!req.is_multipart_form_data())
            throw bad_request("Send the audio as multipart/form-data with a 'file' and a 'model'", "file");
        if (!req.form.has_file("file")) throw bad_request("'file' (the audio upload) is required", "file");
        if (req.form.get_file("file").content.empty()) throw bad_request("The uploaded audio file is empty", "file");
        std::string model = req.form.has_field("model") ? req.form.get_field("model") : "";
        if (model.empty()) throw bad_request("'model' is required: the uid of a running speech model", "model");
        ProxyOptions opts;
        opts.path = path;
        Lease lease = acquire_for_caller(sup, model, Capability::transcription);
        std::string body = multipart_body(req.form, opts.content_type);
        proxy_request(std::move(lease), body, opts, res);
    });
}
}  // namespace

void add_audio_routes(httplib::Server& server, Supervisor& sup) {
    server.Post("/v1/audio/transcriptions", transcription(sup, "/v1/audio/transcriptions"));
    server.Post("/v1/audio/translations", transcription(sup, "/v1/audio/translations"));
    server.Post("/v1/audio/speech", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        std::string model = require_string(body, "model");
        std::string input = require_string(body, "input");
        if (input.size() > 16384) throw bad_request("'input' is longer than 16384 characters", "input");
        opt_string(body, "voice");
        ProxyOptions opts;
        opts.path = "/v1/audio/speech";
        opts.stream = opt_bool(body, "stream").value_or(false);
        proxy_request(acquire_for_caller(sup, model, Capability::speech), req.body, opts, res);
    }));
}

}  // namespace xinfer
