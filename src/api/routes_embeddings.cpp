// Document search endpoints: OpenAI /v1/embeddings and Xinference /v1/rerank, served by the
// model host (xinfer-encoder) or llama-server (`--embedding` / `--rerank`). Embedding answers are
// passed through untouched: the engine already writes the floats (or base64), so xinfer adds no
// float-to-JSON cost. Both merge requests that arrive together (embedding_batcher.h, rerank_batcher.h).
#include <algorithm>
#include <random>

#include "api/caller.h"
#include "api/embedding_batcher.h"
#include "api/http_util.h"
#include "api/openai_validation.h"
#include "api/proxy.h"
#include "api/rerank_batcher.h"
#include "api/routes.h"
#include "common/json_util.h"
#include "common/paths.h"
#include "engines/llama_server/llama_server_command.h"
#include "engines/speech/host_command.h"

namespace xinfer {

namespace {

// Cuts each text input to at most `limit` tokens (keeping the tokenizer's closing special
// token, e.g. BERT's [SEP]) and returns the inputs as token-id lists.
json truncate_inputs(const Lease& lease, const json& input, long long limit) {
    json items = input.is_array() ? input : json::array({input});
    if (!items.empty() && !items[0].is_string()) return input;  // token ids: the caller chose them
    json out = json::array();
    for (auto& text : items) {
        json tok = json::parse(post_to_engine(lease, "/tokenize", json{{"content", text}, {"add_special", true}}.dump()));
        std::vector<long long> ids = tok.value("tokens", std::vector<long long>{});
        if (static_cast<long long>(ids.size()) > limit) {
            long long last = ids.back();
            ids.resize(static_cast<size_t>(limit));
            if (limit > 1) ids.back() = last;
        }
        out.push_back(ids);
    }
    return out;
}

std::string random_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    return buf;
}

// Requests the batcher may merge: texts, and no option that would differ between them. A text
// that might not fit the engine's batch (more bytes than tokens it takes, less a margin for
// special tokens) goes alone: llama-server fails a whole call for one input too long, and after
// such a failure its other callers stall for seconds.
bool batchable(const json& body, size_t max_tokens) {
    for (auto& [key, _] : body.items())
        if (key != "model" && key != "input" && key != "encoding_format" && key != "user" && key != "dimensions") return false;
    auto fits = [&](const json& text) { return text.is_string() && text.get_ref<const std::string&>().size() + 8 <= max_tokens; };
    const json& input = body["input"];
    if (input.is_string()) return fits(input);
    if (!input.is_array() || input.empty() || input.size() > EmbeddingBatcher::kMaxInputs) return false;
    for (auto& x : input)
        if (!fits(x)) return false;
    return true;
}

}  // namespace

void add_embedding_routes(httplib::Server& server, Supervisor& sup) {
    // Xinference's token-id decoding: {"model", "input": [ids] or [[ids], ...]} → the text of
    // each token, in the same nesting.
    server.Post("/v1/convert_ids_to_tokens", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        const std::string model = require_string(body, "model");
        const json input = body.value("input", json());
        auto ids_list = [](const json& v) {
            if (!v.is_array()) return false;
            for (auto& x : v)
                if (!x.is_number_integer() || x.get<long long>() < 0) return false;
            return true;
        };
        bool nested = input.is_array() && !input.empty() && input[0].is_array();
        bool ok = nested ? std::all_of(input.begin(), input.end(), ids_list) : ids_list(input);
        if (!ok) throw bad_request("'input' must be a list of token ids or a list of token-id lists", "input");
        if ((nested ? input.size() : 1) * 2048 < (nested ? 0 : input.size()))
            throw bad_request("'input' holds too many token ids", "input");
        Lease lease = acquire_for_caller(sup, model, Capability::tokenize);
        auto decode = [&](const json& ids) {
            json out = json::array();
            for (auto& id : ids) {
                json piece = json::parse(post_to_engine(lease, "/detokenize", json{{"tokens", json::array({id})}}.dump()));
                out.push_back(piece.value("content", ""));
            }
            return out;
        };
        json out = json::array();
        if (nested)
            for (auto& ids : input) out.push_back(decode(ids));
        else
            out = decode(input);
        send_json(res, out);
    }));

    // XINFER_EMBED_BATCHING=0 turns merging off (to compare).
    std::shared_ptr<EmbeddingBatcher> batcher;
    if (env_or("XINFER_EMBED_BATCHING", "1") != "0") batcher = std::make_shared<EmbeddingBatcher>();
    server.Post("/v1/embeddings", guarded([&sup, batcher](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        validate_embedding_request(body);
        Lease lease = acquire_for_caller(sup, body["model"].get<std::string>(), Capability::embedding);
        if (auto dims = opt_int(body, "dimensions")) {
            long long have = lease.model().model.gguf.embedding_length;
            if (*dims != have)
                throw bad_request("Model '" + lease.model().uid + "' has " + std::to_string(have) +
                                      " dimensions and cannot shorten them; omit 'dimensions' or pass " + std::to_string(have),
                                  "dimensions");
        }
        if (auto limit = opt_int(body, "truncate_prompt_tokens")) {
            if (*limit < 1) throw bad_request("'truncate_prompt_tokens' must be positive", "truncate_prompt_tokens");
            body["input"] = truncate_inputs(lease, body["input"], *limit);
            body.erase("truncate_prompt_tokens");
            res.set_content(post_to_engine(lease, "/v1/embeddings", body.dump()), "application/json");
            lease.model().stats.requests++;
            return;
        }
        // The common case, texts: merged with other requests that wait for the engine (when there
        // are none, the client's bytes go as they are).
        if (batcher && batchable(body, static_cast<size_t>(default_context_size(lease.model().model.gguf)))) {
            const json& input = body["input"];
            const json texts = input.is_string() ? json::array({input}) : input;
            res.set_content(batcher->embed(lease, texts, body.value("encoding_format", "float"), req.body), "application/json");
            lease.model().stats.requests++;
            return;
        }
        res.set_content(post_to_engine(lease, "/v1/embeddings", req.body), "application/json");
        lease.model().stats.requests++;
    }));

    // XINFER_RERANK_BATCHING=0 turns merging off (to compare).
    std::shared_ptr<RerankBatcher> rerank_batcher;
    if (env_or("XINFER_RERANK_BATCHING", "1") != "0") rerank_batcher = std::make_shared<RerankBatcher>();
    server.Post("/v1/rerank", guarded([&sup, rerank_batcher](const httplib::Request& req, httplib::Response& res) {
        json body = parse_json_object(req.body);
        validate_rerank_request(body);
        Lease lease = acquire_for_caller(sup, body["model"].get<std::string>(), Capability::rerank);
        const json& documents = body["documents"];
        json engine_body = {{"query", body["query"]}, {"documents", documents}};
        if (auto n = opt_int(body, "top_n")) engine_body["top_n"] = *n;
        // On the model host, merged with other requests that wait for the engine.
        const bool merge = rerank_batcher && documents.size() <= RerankBatcher::kMaxDocuments &&
                           runs_in_encoder_host(lease.model().model, lease.model().request.engine_options);
        json answer = merge ? rerank_batcher->rerank(lease, engine_body)
                            : json::parse(post_to_engine(lease, "/v1/rerank", engine_body.dump()), nullptr, false);
        if (!answer.is_object() || !answer.contains("results") || !answer["results"].is_array())
            throw internal_error("the engine gave an unreadable rerank answer");

        // Xinference's shape: results sorted by score (llama-server sorts), each with its index.
        bool return_documents = opt_bool(body, "return_documents").value_or(false);
        json results = json::array();
        for (auto& r : answer["results"]) {
            size_t index = r.value("index", 0);
            json item = {{"index", index}, {"relevance_score", r.value("relevance_score", 0.0)}, {"document", nullptr}};
            if (return_documents && index < documents.size()) item["document"] = {{"text", documents[index]}};
            results.push_back(item);
        }
        json tokens = nullptr;
        if (opt_bool(body, "return_len").value_or(false)) {
            long long n = answer.contains("usage") ? answer["usage"].value("prompt_tokens", 0LL) : 0LL;
            tokens = {{"input_tokens", n}, {"output_tokens", 0}};
        }
        lease.model().stats.requests++;
        send_json(res, {{"id", random_id()},
                        {"results", results},
                        {"meta", {{"api_version", nullptr}, {"billed_units", nullptr}, {"tokens", tokens}, {"warnings", nullptr}}}});
    }));
}

}  // namespace xinfer
