#include "worker/daemon/trainer_event.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flopwise::workerd {
namespace {

using Json = nlohmann::json;

absl::Status Missing(const std::string& field, const std::string& event) {
  return absl::InvalidArgumentError(
      absl::StrCat("trainer line: ", event, ".", field, ": missing or not a number"));
}

// Integers may arrive as JSON integers or as whole floating-point numbers.
absl::StatusOr<int64_t> GetInt(const Json& j, const char* field, const std::string& event) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number()) return Missing(field, event);
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
  return it->get<int64_t>();
}

// A number, or null / "nan" / "inf" / "-inf" (a diverged loss): NaN or inf.
absl::StatusOr<double> GetReal(const Json& j, const char* field, const std::string& event) {
  auto it = j.find(field);
  if (it == j.end()) return Missing(field, event);
  if (it->is_number()) return it->get<double>();
  if (it->is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (it->is_string()) {
    const std::string text = absl::AsciiStrToLower(it->get<std::string>());
    if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (text == "inf" || text == "+inf" || text == "infinity") return HUGE_VAL;
    if (text == "-inf" || text == "-infinity") return -HUGE_VAL;
  }
  return Missing(field, event);
}

double GetRealOr(const Json& j, const char* field, double fallback) {
  auto it = j.find(field);
  if (it == j.end()) return fallback;
  if (it->is_number()) return it->get<double>();
  return std::numeric_limits<double>::quiet_NaN();
}

std::string GetStringOr(const Json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return std::string();
  return it->get<std::string>();
}

// Appends every number under `value` as name, name[i], name[i][j], ...
// (null: NaN); strings and booleans are left out.
void Flatten(const std::string& name, const Json& value,
             std::vector<std::pair<std::string, double>>* out) {
  if (value.is_number()) {
    out->emplace_back(name, value.get<double>());
  } else if (value.is_null()) {
    out->emplace_back(name, std::numeric_limits<double>::quiet_NaN());
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      Flatten(absl::StrCat(name, "[", i, "]"), value[i], out);
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) Flatten(absl::StrCat(name, ".", key), item, out);
  }
}

}  // namespace

absl::StatusOr<TrainerEvent> ParseTrainerLine(std::string_view line) {
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainer line: not a JSON object: ", std::string(line)));
  }
  auto event_it = j.find("event");
  if (event_it == j.end() || !event_it->is_string()) {
    return absl::InvalidArgumentError("trainer line: event: missing or not a string");
  }
  const std::string event = event_it->get<std::string>();
  TrainerEvent out;
  if (event == "start") {
    out.kind = TrainerEventKind::kStart;
    auto resumed = GetInt(j, "resumed_from_step", event);
    out.resumed_from_step = resumed.ok() ? *resumed : -1;
    auto total = GetInt(j, "total_tokens", event);
    out.total_tokens = total.ok() ? *total : 0;
    return out;
  }
  if (event == "progress" || event == "checkpoint" || event == "done") {
    out.kind = event == "progress"     ? TrainerEventKind::kProgress
               : event == "checkpoint" ? TrainerEventKind::kCheckpoint
                                       : TrainerEventKind::kDone;
    auto step = GetInt(j, "step", event);
    if (!step.ok()) return step.status();
    auto tokens = GetInt(j, "tokens", event);
    if (!tokens.ok()) return tokens.status();
    auto loss = GetReal(j, "loss", event);
    if (!loss.ok()) return loss.status();
    out.step = *step;
    out.tokens = *tokens;
    out.loss = *loss;
    out.flops = GetRealOr(j, "flops", 0);
    out.lr = GetRealOr(j, "lr", 0);
    out.grad_norm = GetRealOr(j, "grad_norm", 0);
    out.tokens_per_s = GetRealOr(j, "tokens_per_s", 0);
    if (out.kind == TrainerEventKind::kCheckpoint) {
      out.path = GetStringOr(j, "path");
      out.sha256 = GetStringOr(j, "sha256");
      if (out.path.empty()) {
        return absl::InvalidArgumentError("trainer line: checkpoint.path: missing or empty");
      }
      const double nan = std::numeric_limits<double>::quiet_NaN();
      auto validation_tokens = GetInt(j, "validation_tokens", event);
      out.validation_tokens = validation_tokens.ok() ? std::max<int64_t>(*validation_tokens, 0) : 0;
      out.validation_loss = nan;
      out.validation_bits_per_byte = nan;
      if (out.validation_tokens > 0) {
        auto validation_loss = GetReal(j, "validation_loss", event);
        if (!validation_loss.ok()) return validation_loss.status();
        out.validation_loss = *validation_loss;
        out.validation_bits_per_byte = GetRealOr(j, "validation_bits_per_byte", nan);
      }
    }
    return out;
  }
  if (event == "diverged") {
    out.kind = TrainerEventKind::kDiverged;
    auto step = GetInt(j, "step", event);
    out.step = step.ok() ? *step : 0;
    auto loss = GetReal(j, "loss", event);
    out.loss = loss.ok() ? *loss : std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  if (event == "stopped") {
    out.kind = TrainerEventKind::kStopped;
    auto step = GetInt(j, "step", event);
    out.step = step.ok() ? *step : 0;
    return out;
  }
  if (event == "eval") {
    out.kind = TrainerEventKind::kEval;
    out.task = GetStringOr(j, "task");
    if (out.task.empty()) return absl::InvalidArgumentError("trainer line: eval.task: missing");
    auto metrics = j.find("metrics");
    if (metrics == j.end() || !metrics->is_object()) {
      return absl::InvalidArgumentError("trainer line: eval.metrics: missing or not an object");
    }
    for (const auto& [key, value] : metrics->items()) Flatten(key, value, &out.metrics);
    for (const char* field : {"forward_tokens", "seconds"}) {
      if (j.contains(field) && j[field].is_number()) {
        out.metrics.emplace_back(field, j[field].get<double>());
      }
    }
    if (auto figures = j.find("figures"); figures != j.end() && figures->is_array()) {
      for (const Json& figure : *figures) {
        if (figure.is_string()) out.figures.push_back(figure.get<std::string>());
      }
    }
    return out;
  }
  if (event == "error") {
    out.kind = TrainerEventKind::kError;
    out.message = GetStringOr(j, "message");
    return out;
  }
  return absl::InvalidArgumentError(absl::StrCat("trainer line: event: unknown \"", event, "\""));
}

}  // namespace flopwise::workerd
