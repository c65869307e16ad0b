// The life cycle of a launched model, in one place (Triton-style explicit states):
//
//   launching ──► ready ⇄ busy ──► terminating ──► (gone)
//     ▲   │         │  │
//     │   │         │  └──► idle_unloaded ──(next request)──► launching
//     │   │         └──(all engines died, restarts left)──► launching
//     │   └──────────┴──► failed   (launch error, or engines died and restarts ran out)
//
// `busy` is `ready` with requests in flight; it is reported, not stored.
#pragma once

#include <string>

namespace xinfer {

enum class ModelState { launching, ready, busy, idle_unloaded, failed, terminating };

inline std::string to_string(ModelState s) {
    switch (s) {
        case ModelState::launching: return "launching";
        case ModelState::ready: return "ready";
        case ModelState::busy: return "busy";
        case ModelState::idle_unloaded: return "idle_unloaded";
        case ModelState::failed: return "failed";
        case ModelState::terminating: return "terminating";
    }
    return "unknown";
}

// Whether the state machine allows the move; every transition goes through ModelRecord::move_to.
inline bool can_transition(ModelState from, ModelState to) {
    switch (from) {
        case ModelState::launching:
            return to == ModelState::ready || to == ModelState::failed || to == ModelState::terminating;
        case ModelState::ready:
            return to == ModelState::failed || to == ModelState::terminating || to == ModelState::idle_unloaded ||
                   to == ModelState::launching;
        case ModelState::idle_unloaded: return to == ModelState::launching || to == ModelState::terminating;
        case ModelState::failed: return to == ModelState::terminating;
        default: return false;
    }
}

}  // namespace xinfer
