#include "supervisor/deployment.h"

#include <fstream>
#include <sstream>

#include "common/errors.h"
#include "common/log.h"

namespace xinfer {

using json = nlohmann::json;

json read_deployment_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read deployment file " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("models") || !j["models"].is_array())
        throw std::runtime_error("deployment file " + path + " must be a JSON object with a \"models\" list");
    return j;
}

json apply_deployment(Supervisor& sup, const json& config) {
    json report = json::object();
    for (const json& entry : config.value("models", json::array())) {
        if (!entry.is_object()) continue;
        json body = entry;
        const bool enable = body.value("enable", true);
        body.erase("enable");
        std::string uid = body.value("model_uid", body.value("model_name", ""));
        if (uid.empty()) {
            report["?"] = "error: an entry has neither model_uid nor model_name";
            continue;
        }
        // A failed model is not running: launching it again replaces it (enabled), or it goes (disabled).
        bool running = true, failed = false;
        try {
            failed = sup.describe(uid)["status"] == "failed";
        } catch (const ApiError&) {
            running = false;
        }
        try {
            if (!enable) {
                if (running) sup.terminate(uid);
                report[uid] = running ? "terminated" : "disabled";
            } else if (running && !failed) {
                report[uid] = "running";
            } else {
                LaunchRequest r = LaunchRequest::from_json(body);
                r.wait_ready = false;
                sup.launch(r);
                report[uid] = "launched";
            }
        } catch (const std::exception& e) {
            report[uid] = std::string("error: ") + e.what();
            log::warn("deployment: model " + uid + ": " + e.what());
        }
    }
    return report;
}

}  // namespace xinfer
