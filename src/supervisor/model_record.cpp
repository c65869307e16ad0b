#include "supervisor/model_record.h"

#include "common/log.h"

namespace xinfer {

ModelRecord::~ModelRecord() {
    for (auto& t : workers) {
        if (!t.joinable()) continue;
        if (t.get_id() == std::this_thread::get_id()) t.detach();
        else t.join();
    }
}

std::shared_ptr<Replica> ModelRecord::replica(int id) const {
    for (auto& r : replicas)
        if (r->index() == id) return r;
    return nullptr;
}

void ModelRecord::add_event(const std::string& event, const std::string& detail) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
    events.push_back({{"time", now / 1000.0}, {"event", event}, {"detail", detail}});
    if (events.size() > 200) events.erase(events.begin());
    log::info("model=" + uid + " event=" + event + (detail.empty() ? "" : " detail=" + detail));
}

bool ModelRecord::move_to(ModelState next, const std::string& why) {
    if (!can_transition(state, next)) return false;
    add_event(to_string(state) + "->" + to_string(next), why);
    state = next;
    if (next == ModelState::failed) failure_reason = why;
    if (next == ModelState::ready) progress = 1.0, failure_reason.clear();
    if (next == ModelState::launching) progress = 0.05;
    changed.notify_all();
    return true;
}

}  // namespace xinfer
