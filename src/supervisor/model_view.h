// The JSON views of a launched model that clients read (Xinference's describe_model shape plus
// xinfer's life-cycle fields), kept apart from the supervisor's logic.
#pragma once

#include <nlohmann/json.hpp>

#include "supervisor/model_record.h"

namespace xinfer {

// Caller holds rec.mu.
nlohmann::json describe_model(const ModelRecord& rec);
// One entry of GET /v1/models `data` (OpenAI's model object plus the description).
nlohmann::json model_list_entry(const ModelRecord& rec);
// Reported state: `busy` when ready with requests in flight.
ModelState visible_state(const ModelRecord& rec);

}  // namespace xinfer
