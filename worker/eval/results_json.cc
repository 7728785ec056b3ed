#include "worker/eval/results_json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace flopwise::eval {
namespace {

nlohmann::json ValidationJson(const ValidationResult& v) {
  nlohmann::json j = {{"windows", v.windows}, {"tokens", v.tokens},
                      {"loss", v.loss_nats},  {"perplexity", v.perplexity},
                      {"bytes", v.bytes},     {"bits_per_byte", nullptr}};
  if (v.bits_per_byte) j["bits_per_byte"] = *v.bits_per_byte;
  return j;
}

nlohmann::json NeedleJson(const NeedleResult& n) {
  return {{"mode", NeedleModeName(n.mode)},
          {"lengths", n.grid.lengths},
          {"depths", n.grid.depths},
          {"scores", n.grid.scores},
          {"accuracy_at_length", n.accuracy_at_length},
          {"accuracy_up_to_length", n.accuracy_up_to_length},
          {"weighted_average_accuracy", n.weighted_average_accuracy},
          {"niah_score", n.niah_score},
          {"cases", n.cases}};
}

nlohmann::json McJson(const McResult& m) {
  return {{"documents", m.documents}, {"acc", m.acc}, {"acc_norm", m.acc_norm}};
}

}  // namespace

nlohmann::json TaskResultJson(const EvalReport& report, const TaskResult& result) {
  nlohmann::json j = {{"event", "eval"},
                      {"task", result.task},
                      {"checkpoint", report.weights},
                      {"arch", report.arch},
                      {"step", report.step},
                      {"training_tokens", report.training_tokens},
                      {"context", report.context}};
  if (result.validation) j["metrics"] = ValidationJson(*result.validation);
  if (result.needle) j["metrics"] = NeedleJson(*result.needle);
  if (result.multiple_choice) j["metrics"] = McJson(*result.multiple_choice);
  j["forward_tokens"] = result.forward_tokens;
  j["seconds"] = result.seconds;
  if (!result.figures.empty()) j["figures"] = result.figures;
  return j;
}

std::string FormatSummary(const EvalReport& report) {
  std::string out = absl::StrCat(report.arch, " ", report.weights);
  if (report.step >= 0)
    absl::StrAppend(&out, " (step ", report.step, ", ", report.training_tokens, " tokens)");
  absl::StrAppend(&out, "\n");
  for (const TaskResult& r : report.results) {
    if (r.validation) {
      const ValidationResult& v = *r.validation;
      absl::StrAppendFormat(&out, "  %-20s loss %.4f  ppl %.3f  bpb %s  (%d windows, %d tokens)\n",
                            r.task, v.loss_nats, v.perplexity,
                            v.bits_per_byte ? absl::StrFormat("%.4f", *v.bits_per_byte) : "n/a",
                            v.windows, v.tokens);
    }
    if (r.needle) {
      const NeedleResult& n = *r.needle;
      absl::StrAppendFormat(&out,
                            "  %-20s weighted acc %.3f  NIAH score %.3f  acc by length:", r.task,
                            n.weighted_average_accuracy, n.niah_score);
      for (size_t j = 0; j < n.grid.lengths.size(); ++j) {
        absl::StrAppendFormat(&out, " %d:%.2f", n.grid.lengths[j], n.accuracy_at_length[j]);
      }
      absl::StrAppend(&out, "\n");
    }
    if (r.multiple_choice) {
      const McResult& m = *r.multiple_choice;
      absl::StrAppendFormat(&out, "  %-20s acc %.4f  acc_norm %.4f  (%d documents)\n", r.task,
                            m.acc, m.acc_norm, m.documents);
    }
    for (const std::string& figure : r.figures) absl::StrAppend(&out, "    figure ", figure, "\n");
  }
  return out;
}

}  // namespace flopwise::eval
