// The life cycle of a launched model, in one place (Triton-style explicit states):
//
//   launching ──► ready ⇄ busy ──► terminating ──► (gone)
//        │          │
//        └──────────┴──► failed   (launch error, or every engine process died)
//
// `busy` is `ready` with requests in flight; it is reported, not stored.
#pragma once

#include <string>

namespace xinfer {

enum class ModelState { launching, ready, busy, failed, terminating };

inline std::string to_string(ModelState s) {
    switch (s) {
        case ModelState::launching: return "launching";
        case ModelState::ready: return "ready";
        case ModelState::busy: return "busy";
        case ModelState::failed: return "failed";
        case ModelState::terminating: return "terminating";
    }
    return "unknown";
}

// Whether the state machine allows the move; the supervisor asserts every transition with it.
inline bool can_transition(ModelState from, ModelState to) {
    switch (from) {
        case ModelState::launching: return to == ModelState::ready || to == ModelState::failed || to == ModelState::terminating;
        case ModelState::ready: return to == ModelState::failed || to == ModelState::terminating;
        case ModelState::failed: return to == ModelState::terminating;
        default: return false;
    }
}

}  // namespace xinfer
