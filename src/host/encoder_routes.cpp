#include "host/encoder_routes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "api/http_util.h"
#include "common/json_util.h"

namespace xinfer {

namespace {

void append_base64(std::string& out, const unsigned char* p, size_t n) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        const unsigned v = (p[i] << 16) | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out += abc[(v >> 18) & 63];
        out += abc[(v >> 12) & 63];
        out += i + 1 < n ? abc[(v >> 6) & 63] : '=';
        out += i + 2 < n ? abc[v & 63] : '=';
    }
}

// Shortest text that reads back as the same float; JSON has no NaN or infinity (null, as
// llama-server's JSON library writes them).
void append_float(std::string& out, float f) {
    if (!std::isfinite(f)) {
        out += "null";
        return;
    }
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, f);
    out.append(buf, r.ptr);
}

EncoderInputError token_list_error() {
    return EncoderInputError("'input' must be a string, a list of strings, a list of token ids or a list of token-id lists",
                             "invalid_input");
}

Tokens token_ids(const json& ids) {
    Tokens t;
    t.reserve(ids.size());
    for (auto& id : ids) {
        if (!id.is_number_integer()) throw token_list_error();
        const long long v = id.get<long long>();
        if (v < INT32_MIN || v > INT32_MAX) throw token_list_error();
        t.push_back(static_cast<int32_t>(v));
    }
    return t;
}

// llama-server's input shapes: "text", [ids], or a list of texts and id lists.
std::vector<Tokens> read_inputs(const LlamaEncoder& enc, const json& input) {
    std::vector<Tokens> out;
    if (input.is_string()) {
        out.push_back(enc.tokenize(input.get_ref<const std::string&>(), true));
    } else if (input.is_array() && !input.empty() && input[0].is_number_integer()) {
        out.push_back(token_ids(input));
    } else if (input.is_array() && !input.empty()) {
        for (auto& item : input) {
            if (item.is_string()) out.push_back(enc.tokenize(item.get_ref<const std::string&>(), true));
            else if (item.is_array()) out.push_back(token_ids(item));
            else throw token_list_error();
        }
    } else {
        throw token_list_error();
    }
    return out;
}

ApiError input_error(const EncoderInputError& e) {
    return ApiError(400, e.what(), "invalid_request_error", "input", e.code);
}

void embeddings(LlamaEncoder& enc, const httplib::Request& req, httplib::Response& res) {
    const json body = parse_json_object(req.body);
    const json* input = body.contains("input") ? &body["input"] : body.contains("content") ? &body["content"] : nullptr;
    if (!input) throw bad_request("'input' is required", "input");
    const std::string encoding = opt_string(body, "encoding_format").value_or("float");
    if (encoding != "float" && encoding != "base64")
        throw bad_request("'encoding_format' must be float or base64", "encoding_format");
    const bool tokens_per_item = opt_bool(body, "xinfer_tokens_per_item").value_or(false);
    std::vector<Tokens> inputs;
    std::vector<std::vector<float>> vectors;
    try {
        inputs = read_inputs(enc, *input);
        vectors = enc.encode(inputs);
    } catch (const EncoderInputError& e) {
        throw input_error(e);
    }
    const std::string model = body.contains("model") && body["model"].is_string() ? body["model"].dump() : "\"\"";
    std::string out;
    out.reserve(64 + vectors.size() * (static_cast<size_t>(enc.dimensions()) * (encoding == "float" ? 12 : 6) + 64));
    out += "{\"model\":" + model + ",\"object\":\"list\",\"data\":[";
    size_t total = 0;
    for (size_t i = 0; i < vectors.size(); ++i) {
        if (i) out += ',';
        out += "{\"embedding\":";
        if (encoding == "base64") {
            out += '"';
            append_base64(out, reinterpret_cast<const unsigned char*>(vectors[i].data()), vectors[i].size() * sizeof(float));
            out += '"';
        } else {
            out += '[';
            for (size_t d = 0; d < vectors[i].size(); ++d) {
                if (d) out += ',';
                append_float(out, vectors[i][d]);
            }
            out += ']';
        }
        out += ",\"index\":" + std::to_string(i) + ",\"object\":\"embedding\"";
        if (encoding == "base64") out += ",\"encoding_format\":\"base64\"";
        if (tokens_per_item) out += ",\"tokens_evaluated\":" + std::to_string(inputs[i].size());
        out += '}';
        total += inputs[i].size();
    }
    out += "],\"usage\":{\"prompt_tokens\":" + std::to_string(total) + ",\"total_tokens\":" + std::to_string(total) + "}}";
    res.set_content(out, "application/json");
}

// One rerank query of a call: its pairs' place in the call's inputs.
struct RerankQuery {
    const json* body = nullptr;
    size_t first = 0, count = 0;
};

// Tokenizes a query's pairs onto `pairs`.
RerankQuery read_query(const LlamaEncoder& enc, const json& body, std::vector<Tokens>& pairs) {
    if (!body.is_object()) throw bad_request("each of 'xinfer_queries' must be an object", "xinfer_queries");
    const std::string query = require_string(body, "query");
    if (!body.contains("documents") || !body["documents"].is_array() || body["documents"].empty())
        throw bad_request("'documents' must be a non-empty list of strings", "documents");
    RerankQuery q{&body, pairs.size(), body["documents"].size()};
    for (auto& d : body["documents"]) {
        if (!d.is_string()) throw bad_request("'documents' must be a non-empty list of strings", "documents");
        pairs.push_back(enc.rerank_pair(query, d.get_ref<const std::string&>()));
    }
    return q;
}

// llama-server's answer to one query: results by score (ties in document order), top_n, usage.
json query_answer(const RerankQuery& q, const std::vector<Tokens>& pairs, const std::vector<std::vector<float>>& scores) {
    std::vector<size_t> order(q.count);
    std::iota(order.begin(), order.end(), 0);
    auto score = [&](size_t k) { return scores[q.first + k][0]; };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score(a) > score(b); });
    size_t top = order.size();
    if (auto n = opt_int(*q.body, "top_n"); n && *n >= 0) top = std::min(top, static_cast<size_t>(*n));
    json results = json::array();
    for (size_t k = 0; k < top; ++k)
        results.push_back({{"index", order[k]}, {"relevance_score", std::isfinite(score(order[k])) ? score(order[k]) : 0.0f}});
    size_t tokens = 0;
    for (size_t k = 0; k < q.count; ++k) tokens += pairs[q.first + k].size();
    return {{"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}, {"results", std::move(results)}};
}

// A query and its documents, as llama-server takes them; or, from the gateway's batcher
// (rerank_batcher.h), several: {"xinfer_queries": [{query, documents, top_n}, ...]}, answered
// {"xinfer_answers": [{results, usage}, ...]} with every pair of the call computed together.
void rerank(LlamaEncoder& enc, const httplib::Request& req, httplib::Response& res) {
    const json body = parse_json_object(req.body);
    const json* many = body.contains("xinfer_queries") ? &body["xinfer_queries"] : nullptr;
    if (many && (!many->is_array() || many->empty())) throw bad_request("'xinfer_queries' must be a non-empty list", "xinfer_queries");
    std::vector<Tokens> pairs;
    std::vector<RerankQuery> queries;
    if (many)
        for (auto& q : *many) queries.push_back(read_query(enc, q, pairs));
    else
        queries.push_back(read_query(enc, body, pairs));
    std::vector<std::vector<float>> scores;
    try {
        scores = enc.encode(pairs);
    } catch (const EncoderInputError& e) {
        throw input_error(e);
    }
    if (!many) {
        json answer = query_answer(queries[0], pairs, scores);
        answer["model"] = body.value("model", "");
        answer["object"] = "list";
        send_json(res, answer);
        return;
    }
    json answers = json::array();
    for (auto& q : queries) answers.push_back(query_answer(q, pairs, scores));
    send_json(res, {{"xinfer_answers", std::move(answers)}});
}

}  // namespace

void add_encoder_routes(httplib::Server& server, LlamaEncoder& enc) {
    if (enc.task() == LlamaEncoder::Task::embedding)
        server.Post("/v1/embeddings", guarded([&enc](const httplib::Request& req, httplib::Response& res) { embeddings(enc, req, res); }));
    else
        server.Post("/v1/rerank", guarded([&enc](const httplib::Request& req, httplib::Response& res) { rerank(enc, req, res); }));
    server.Post("/tokenize", guarded([&enc](const httplib::Request& req, httplib::Response& res) {
        const json body = parse_json_object(req.body);
        const std::string content = require_string(body, "content");
        send_json(res, {{"tokens", enc.tokenize(content, opt_bool(body, "add_special").value_or(false))}});
    }));
    server.Post("/detokenize", guarded([&enc](const httplib::Request& req, httplib::Response& res) {
        const json body = parse_json_object(req.body);
        if (!body.contains("tokens") || !body["tokens"].is_array()) throw bad_request("'tokens' must be a list of token ids", "tokens");
        try {
            send_json(res, {{"content", enc.detokenize(token_ids(body["tokens"]))}});
        } catch (const EncoderInputError& e) {
            throw ApiError(400, e.what(), "invalid_request_error", "tokens", e.code);
        }
    }));
}

}  // namespace xinfer
