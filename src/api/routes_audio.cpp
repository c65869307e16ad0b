// OpenAI's audio endpoints, served by speech model replicas (`xinfer host`). Uploads are
// checked here (a file is there, the model fits the task), then forwarded to the replica;
// answers (JSON, text, subtitles, audio, streamed audio) pass through untouched. Registered
// voices (/v1/audio/voices) live here: a speech request naming one carries its recording to the
// model as the voice to clone (prompt_speech, as Xinference's client uploads one).
#include "api/caller.h"
#include "api/http_util.h"
#include "api/proxy.h"
#include "api/routes.h"
#include "common/json_util.h"
#include "common/paths.h"
#include "common/text.h"
#include "registry/voice_store.h"

namespace xinfer {

namespace {

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

// A speech request as the replica takes it: JSON forwarded untouched, or (an uploaded or
// registered voice to clone) a multipart form of the same fields plus prompt_speech.
void forward_speech(Supervisor& sup, const VoiceStore& voices, const httplib::Request& req, httplib::Response& res) {
    json fields;
    httplib::MultipartFormData form;
    if (req.is_multipart_form_data()) {
        form = req.form;
        fields = json::object();
        for (auto& [name, f] : form.fields) fields[name] = f.content;
    } else {
        fields = parse_json_object(req.body);
    }
    std::string model = require_string(fields, "model");
    std::string input = require_string(fields, "input");
    if (input.size() > 16384) throw bad_request("'input' is longer than 16384 characters", "input");
    const std::string voice = opt_string(fields, "voice").value_or("");
    ProxyOptions opts;
    opts.path = "/v1/audio/speech";
    auto stream = fields.contains("stream") ? fields["stream"] : json(false);
    opts.stream = stream.is_boolean() ? stream.get<bool>() : stream.is_string() && lower(stream.get<std::string>()) == "true";
    const bool uploaded = req.is_multipart_form_data() && form.has_file("prompt_speech");
    std::optional<std::string> registered = uploaded || voice.empty() ? std::nullopt : voices.get(voice);
    Lease lease = acquire_for_caller(sup, model, Capability::speech);
    if (!registered && !req.is_multipart_form_data()) return proxy_request(std::move(lease), req.body, opts, res);
    if (registered) {
        // The registered voice's recording goes as the upload; the model hears no unknown voice name.
        if (!req.is_multipart_form_data())
            for (auto& [k, v] : fields.items())
                form.fields.emplace(k, httplib::FormField{k, v.is_string() ? v.get<std::string>() : v.dump(), {}});
        form.fields.erase("voice");
        form.files.emplace("prompt_speech", httplib::FormData{"prompt_speech", *registered, voice, "application/octet-stream", {}});
    }
    std::string body = multipart_body(form, opts.content_type);
    proxy_request(std::move(lease), body, opts, res);
}

void add_voice_routes(httplib::Server& server, std::shared_ptr<VoiceStore> voices) {
    server.Post("/v1/audio/voices", guarded([voices](const httplib::Request& req, httplib::Response& res) {
        if (!req.is_multipart_form_data() || !req.form.has_file("file"))
            throw bad_request("Send multipart/form-data with a 'name' and the recording as 'file'", "file");
        const std::string name = req.form.has_field("name") ? req.form.get_field("name") : "";
        voices->put(name, req.form.get_file("file").content);
        res.status = 201;
        for (auto& v : voices->list())
            if (v["name"] == name) send_json(res, v, 201);
    }));
    server.Get("/v1/audio/voices", guarded([voices](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"object", "list"}, {"data", voices->list()}});
    }));
    server.Delete(R"(/v1/audio/voices/([^/]+))", guarded([voices](const httplib::Request& req, httplib::Response& res) {
        if (!voices->remove(req.matches[1])) throw not_found("No voice named '" + std::string(req.matches[1]) + "'", "name");
        send_json(res, {{"deleted", true}, {"name", std::string(req.matches[1])}});
    }));
}
}  // namespace

void add_audio_routes(httplib::Server& server, Supervisor& sup) {
    auto voices = std::make_shared<VoiceStore>(xinfer_home() / "voices");
    server.Post("/v1/audio/transcriptions", transcription(sup, "/v1/audio/transcriptions"));
    server.Post("/v1/audio/translations", transcription(sup, "/v1/audio/translations"));
    server.Post("/v1/audio/speech", guarded([&sup, voices](const httplib::Request& req, httplib::Response& res) {
        forward_speech(sup, *voices, req, res);
    }));
    add_voice_routes(server, voices);
}

}  // namespace xinfer
