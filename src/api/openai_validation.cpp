#include "api/openai_validation.h"

#include "common/errors.h"
#include "common/json_util.h"

namespace xinfer {

using json = nlohmann::json;

namespace {
void require_model(const json& body) {
    auto model = opt_string(body, "model");
    if (!model || model->empty()) throw bad_request("'model' is required: the uid of a running model", "model");
}
void require_number(const json& body, const char* key, double lo, double hi) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return;
    if (!it->is_number()) throw bad_request(std::string("'") + key + "' must be a number", key);
    double v = it->get<double>();
    if (v < lo || v > hi)
        throw bad_request(std::string("'") + key + "' must be between " + json(lo).dump() + " and " + json(hi).dump(), key);
}
void require_nonneg_int(const json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return;
    if (!it->is_number_integer() || it->get<long long>() < 0)
        throw bad_request(std::string("'") + key + "' must be a non-negative integer", key);
}
// One part of a multi-part message, as OpenAI defines them: engines answer a malformed part with a
// 500 (or ignore it), so the shape is checked here.
void validate_content_part(const json& part, const std::string& where) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
        throw bad_request(where + " must be an object with a string 'type'", "messages");
    const std::string type = part["type"];
    auto require = [&](const char* key, bool ok, const char* what) {
        if (!ok) throw bad_request(where + "." + key + " must be " + what + " for a '" + type + "' part", "messages");
    };
    if (type == "text") {
        require("text", part.contains("text") && part["text"].is_string(), "a string");
    } else if (type == "image_url") {
        const json* u = part.contains("image_url") ? &part["image_url"] : nullptr;
        require("image_url", u && (u->is_string() || (u->is_object() && u->contains("url") && (*u)["url"].is_string())),
                "an object with a string 'url'");
    } else if (type == "input_audio") {
        const json* a = part.contains("input_audio") ? &part["input_audio"] : nullptr;
        require("input_audio", a && a->is_object() && a->contains("data") && (*a)["data"].is_string(),
                "an object with base64 'data' and a 'format'");
    } else if (type != "file" && type != "refusal") {
        throw bad_request(where + ".type '" + type + "' is not one of text, image_url, input_audio, file", "messages");
    }
}

}  // namespace

void validate_sampling_fields(const json& body) {
    require_model(body);
    opt_bool(body, "stream");
    require_nonneg_int(body, "max_tokens");
    require_nonneg_int(body, "max_completion_tokens");
    require_number(body, "temperature", 0, 2);
    require_number(body, "top_p", 0, 1);
    require_number(body, "presence_penalty", -2, 2);
    require_number(body, "frequency_penalty", -2, 2);
    if (body.contains("n") && !body["n"].is_null()) {
        if (!body["n"].is_number_integer() || body["n"].get<long long>() != 1)
            throw bad_request("'n' must be 1: llama.cpp generates one choice per request", "n");
    }
    if (body.contains("seed") && !body["seed"].is_null() && !body["seed"].is_number_integer())
        throw bad_request("'seed' must be an integer", "seed");
    if (body.contains("stop") && !body["stop"].is_null()) {
        const json& s = body["stop"];
        bool ok = s.is_string() || s.is_array();
        if (s.is_array())
            for (auto& x : s) ok &= x.is_string();
        if (!ok) throw bad_request("'stop' must be a string or a list of strings", "stop");
    }
    if (body.contains("stream_options") && !body["stream_options"].is_null() && !body["stream_options"].is_object())
        throw bad_request("'stream_options' must be an object", "stream_options");
    if (body.contains("response_format") && !body["response_format"].is_null()) {
        const json& rf = body["response_format"];
        if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string())
            throw bad_request("'response_format' must be an object with a 'type'", "response_format");
        std::string t = rf["type"];
        if (t != "text" && t != "json_object" && t != "json_schema")
            throw bad_request("'response_format.type' must be text, json_object or json_schema", "response_format");
        if (t == "json_schema" && (!rf.contains("json_schema") || !rf["json_schema"].is_object()))
            throw bad_request("'response_format.json_schema' must be an object", "response_format");
    }
}

void validate_chat_request(const json& body) {
    validate_sampling_fields(body);
    auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty())
        throw bad_request("'messages' must be a non-empty list of messages", "messages");
    for (size_t i = 0; i < it->size(); ++i) {
        const json& m = (*it)[i];
        std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw bad_request(where + " must be an object", "messages");
        if (!m.contains("role") || !m["role"].is_string())
            throw bad_request(where + ".role must be a string", "messages");
        std::string role = m["role"];
        if (role != "system" && role != "user" && role != "assistant" && role != "tool" && role != "developer" &&
            role != "function")
            throw bad_request(where + ".role '" + role + "' is not one of system, user, assistant, tool, developer",
                              "messages");
        if (m.contains("content") && !(m["content"].is_string() || m["content"].is_array() || m["content"].is_null()))
            throw bad_request(where + ".content must be a string or a list of content parts", "messages");
        if (m.contains("content") && m["content"].is_array())
            for (size_t k = 0; k < m["content"].size(); ++k)
                validate_content_part(m["content"][k], where + ".content[" + std::to_string(k) + "]");
    }
    if (body.contains("tools") && !body["tools"].is_null() && !body["tools"].is_array())
        throw bad_request("'tools' must be a list", "tools");
}

void validate_completion_request(const json& body) {
    validate_sampling_fields(body);
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null()) throw bad_request("'prompt' is required", "prompt");
    bool ok = it->is_string() || it->is_array();
    if (it->is_array())
        for (auto& p : *it) ok &= p.is_string() || p.is_number_integer() || p.is_array();
    if (!ok) throw bad_request("'prompt' must be a string, a list of strings, or token ids", "prompt");
}

void validate_embedding_request(const json& body) {
    require_model(body);
    auto it = body.find("input");
    if (it == body.end() || it->is_null()) throw bad_request("'input' is required", "input");
    const json& in = *it;
    auto bad = [] { return bad_request("'input' must be a string, a list of strings, a list of token ids, or a list of token-id lists", "input"); };
    if (in.is_string()) {
        if (in.get<std::string>().empty()) throw bad_request("'input' must not be empty", "input");
    } else if (in.is_array()) {
        if (in.empty()) throw bad_request("'input' must not be an empty list", "input");
        if (in.size() > 2048) throw bad_request("'input' may hold at most 2048 items", "input");
        const json& first = in[0];
        for (auto& x : in) {
            if (first.is_string()) {
                if (!x.is_string()) throw bad();
                if (x.get<std::string>().empty()) throw bad_request("'input' items must not be empty", "input");
            } else if (first.is_number_integer()) {
                if (!x.is_number_integer()) throw bad();
            } else if (first.is_array()) {
                if (!x.is_array() || x.empty()) throw bad();
                for (auto& t : x)
                    if (!t.is_number_integer()) throw bad();
            } else {
                throw bad();
            }
        }
    } else {
        throw bad();
    }
    if (auto f = opt_string(body, "encoding_format"); f && *f != "float" && *f != "base64")
        throw bad_request("'encoding_format' must be float or base64", "encoding_format");
    opt_int(body, "dimensions");
    opt_int(body, "truncate_prompt_tokens");
}

void validate_rerank_request(const json& body) {
    require_model(body);
    auto q = opt_string(body, "query");
    if (!q || q->empty()) throw bad_request("'query' must be a non-empty string", "query");
    auto it = body.find("documents");
    if (it == body.end() || !it->is_array() || it->empty())
        throw bad_request("'documents' must be a non-empty list of strings", "documents");
    for (auto& d : *it)
        if (!d.is_string()) throw bad_request("'documents' must be a non-empty list of strings", "documents");
    if (auto n = opt_int(body, "top_n"); n && *n < 1) throw bad_request("'top_n' must be at least 1", "top_n");
    opt_bool(body, "return_documents");
    opt_bool(body, "return_len");
}

}  // namespace xinfer
