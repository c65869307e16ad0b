// Key management for admins, without restarts (the permission map gives /v1/admin/* to admin):
//   POST   /v1/admin/keys       {"user", "name", "permissions", "models", "expires_at" | "expires_in_days",
//                                "rpm", "tpm"} → {"key": "sk-…" (shown this once), ...the record}
//   GET    /v1/admin/keys       → {"keys": [records, never the keys or their hashes]}
//   DELETE /v1/admin/keys/{id}  → revoked: the next request with it gets a 401
#include <chrono>

#include "api/caller.h"
#include "api/http_util.h"
#include "api/routes.h"
#include "cluster/cluster_node.h"
#include "common/json_util.h"

namespace xinfer {

namespace {

int non_negative_int(const json& body, const char* field) {
    if (!body.contains(field) || body[field].is_null()) return 0;
    if (!body[field].is_number_integer() || body[field].get<long long>() < 0 || body[field].get<long long>() > 1'000'000'000)
        throw bad_request(std::string(field) + " must be a whole number, 0 (unlimited) or more", field);
    return body[field].get<int>();
}

template <typename T>
T string_list(const json& body, const char* field) {
    T out;
    if (!body.contains(field) || body[field].is_null()) return out;
    if (!body[field].is_array()) throw bad_request(std::string(field) + " must be a list of strings", field);
    for (auto& v : body[field]) {
        if (!v.is_string() || v.get<std::string>().empty()) throw bad_request(std::string(field) + " must be a list of strings", field);
        out.insert(out.end(), v.get<std::string>());
    }
    return out;
}

KeyRequest key_request(const json& body) {
    KeyRequest r;
    const auto& who = current_caller().who;
    r.user = body.contains("user") ? require_string(body, "user") : (who ? who->user : "");
    r.name = body.value("name", "");
    r.permissions = string_list<std::set<std::string>>(body, "permissions");
    r.models = string_list<std::vector<std::string>>(body, "models");
    r.rpm = non_negative_int(body, "rpm");
    r.tpm = non_negative_int(body, "tpm");
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (body.contains("expires_at") && !body["expires_at"].is_null()) {
        if (!body["expires_at"].is_number()) throw bad_request("expires_at must be unix seconds", "expires_at");
        r.expires_at = static_cast<int64_t>(body["expires_at"].get<double>());
    } else if (body.contains("expires_in_days") && !body["expires_in_days"].is_null()) {
        if (!body["expires_in_days"].is_number() || body["expires_in_days"].get<double>() <= 0)
            throw bad_request("expires_in_days must be a positive number", "expires_in_days");
        r.expires_at = now + static_cast<int64_t>(body["expires_in_days"].get<double>() * 86400);
    }
    return r;
}

// In a cluster every node takes the key's record (the cluster agent's sync); a new key etcd did
// not take is revoked again here, and the caller learns why.
void share_key(ClusterNode* cluster, Authenticator& auth, const std::string& id, bool undo_on_failure) {
    if (!cluster) return;
    try {
        cluster->put_shared("keys", id, auth.key_record(id).dump());
    } catch (const std::exception& e) {
        if (undo_on_failure) auth.revoke_key(id);
        throw ApiError(503, std::string("The cluster's etcd did not take the key: ") + e.what(), "", "", "cluster_unavailable");
    }
}

}  // namespace

void add_key_routes(httplib::Server& server, std::shared_ptr<Authenticator> auth, ClusterNode* cluster) {
    server.Post("/v1/admin/keys", guarded([auth, cluster](const httplib::Request& req, httplib::Response& res) {
        const KeyRequest request = key_request(parse_json_object(req.body));
        try {
            auto [key, record] = auth->create_key(request);
            share_key(cluster, *auth, record.id, true);
            json out = record.to_json();
            out["key"] = key;
            send_json(res, out, 201);
        } catch (const std::invalid_argument& e) {
            throw bad_request(e.what());
        }
    }));
    server.Get("/v1/admin/keys", guarded([auth](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"keys", auth->list_keys()}});
    }));
    server.Delete(R"(/v1/admin/keys/([^/]+))", guarded([auth, cluster](const httplib::Request& req, httplib::Response& res) {
        const std::string id = req.matches[1];
        if (!auth->revoke_key(id)) throw ApiError(404, "No API key with id '" + id + "'", "invalid_request_error", "id");
        share_key(cluster, *auth, id, false);
        send_json(res, {{"id", id}, {"revoked", true}});
    }));
}

}  // namespace xinfer
