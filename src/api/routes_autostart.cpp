// Xinference's autostart API over xinfer's store of launched models (which come back by
// themselves at each start): list, summary, add (and launch now), remove.
#include "api/http_util.h"
#include "api/routes.h"
#include "common/json_util.h"

namespace xinfer {

namespace {

json entry_of(Supervisor& sup, const json& launch) {
    const std::string uid = launch.value("model_uid", "");
    json state = json::object();
    try {
        const std::string st = sup.describe(uid)["status"];
        state["instance_status"] = st == "failed" ? "ERROR" : st == "launching" ? "CREATING" : "READY";
    } catch (const ApiError&) {
    }
    return {{"enabled", true}, {"priority", 0}, {"max_retries", 3}, {"retry_interval_seconds", 1},
            {"launch", launch}, {"state", state}};
}

json summary(Supervisor& sup) {
    json models = json::array();
    for (auto& l : sup.autostart_entries()) models.push_back({{"enabled", true}, {"model_uid", l.value("model_uid", "")}});
    return {{"models", models}};
}

}  // namespace

void add_autostart_routes(httplib::Server& server, Supervisor& sup) {
    auto config = [&sup] {
        json models = json::array();
        for (auto& l : sup.autostart_entries()) models.push_back(entry_of(sup, l));
        return json{{"models", models}};
    };
    server.Get("/v1/autostart/models", guarded([config](const httplib::Request&, httplib::Response& res) {
        send_json(res, config());
    }));
    server.Get("/v1/autostart/models/summary", guarded([&sup](const httplib::Request&, httplib::Response& res) {
        send_json(res, summary(sup));
    }));
    // Body: {"launch": {launch keys}, "enabled": bool, ...} or the launch keys themselves.
    server.Post("/v1/autostart/models", guarded([&sup, config](const httplib::Request& req, httplib::Response& res) {
        json entry = parse_json_object(req.body);
        json launch = entry.contains("launch") ? entry["launch"] : entry;
        if (!launch.is_object()) throw bad_request("Autostart model entry requires a launch object.", "launch");
        for (auto key : {"enabled", "priority", "max_retries", "retry_interval_seconds", "state"}) launch.erase(key);
        LaunchRequest r = LaunchRequest::from_json(launch);
        if (!opt_bool(entry, "enabled").value_or(true)) {
            sup.remove_autostart(r.model_uid.empty() ? r.model_name : r.model_uid);  // disabled: not started
        } else {
            sup.add_autostart(r);
        }
        send_json(res, config());
    }));
    server.Delete("/v1/autostart/models/:uid", guarded([&sup](const httplib::Request& req, httplib::Response& res) {
        sup.remove_autostart(req.path_params.at("uid"));
        send_json(res, summary(sup));
    }));
}

}  // namespace xinfer
