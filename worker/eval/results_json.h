// Serialisation of evaluation results: one JSON object per task (the lines
// `flopwise-train eval` prints) and a short human summary.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "worker/eval/evaluator.h"

namespace flopwise::eval {

// {"event":"eval","task":…,"checkpoint":…,"arch":…,"step":…,"training_tokens":…,
//  "context":…,"metrics":{…},"forward_tokens":…,"seconds":…[,"figures":[…]]}
nlohmann::json TaskResultJson(const EvalReport& report, const TaskResult& result);

// One or a few lines per task for a terminal.
std::string FormatSummary(const EvalReport& report);

}  // namespace flopwise::eval
