#include "fitting/evaluation_records.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "fitting/csv_line.h"

namespace flopwise::fitting {
namespace {

namespace fs = std::filesystem;

// One CSV file's header and the reading of its rows' cells, each error naming
// the source, the line and the column.
class CsvTable {
 public:
  CsvTable(absl::string_view source) : source_(source) {}

  absl::Status SetHeader(absl::string_view line, int line_no,
                         std::initializer_list<absl::string_view> required) {
    ASSIGN_OR_RETURN(columns_, ParseCsvHeader(line, source_, line_no, required));
    return absl::OkStatus();
  }
  bool has_header() const { return !columns_.empty(); }

  // The cell of column `name` in `row`; empty when the header lacks it.
  absl::StatusOr<std::string> Text(const std::vector<std::string>& row, int line_no,
                                   absl::string_view name) const {
    auto it = columns_.find(std::string(name));
    if (it == columns_.end()) return std::string();
    if (it->second >= row.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(line_no, name), "missing (the row has ", row.size(), " fields)"));
    }
    return row[it->second];
  }

  // A number; nullopt for an empty cell.
  absl::StatusOr<std::optional<double>> Number(const std::vector<std::string>& row, int line_no,
                                               absl::string_view name) const {
    ASSIGN_OR_RETURN(const std::string text, Text(row, line_no, name));
    if (text.empty()) return std::nullopt;
    auto v = ParseCsvNumber(text);
    if (!v.ok())
      return absl::InvalidArgumentError(absl::StrCat(Where(line_no, name), v.status().message()));
    return *v;
  }

  absl::StatusOr<double> RequiredNumber(const std::vector<std::string>& row, int line_no,
                                        absl::string_view name) const {
    ASSIGN_OR_RETURN(const std::optional<double> v, Number(row, line_no, name));
    if (!v) return absl::InvalidArgumentError(Where(line_no, name) + "empty");
    return *v;
  }

  absl::StatusOr<std::string> RequiredText(const std::vector<std::string>& row, int line_no,
                                           absl::string_view name) const {
    ASSIGN_OR_RETURN(std::string text, Text(row, line_no, name));
    if (text.empty()) return absl::InvalidArgumentError(Where(line_no, name) + "empty");
    return text;
  }

  std::string Where(int line_no, absl::string_view name) const {
    auto it = columns_.find(std::string(name));
    return absl::StrCat(source_, ":", line_no, ": column '", name, "' (",
                        it == columns_.end() ? 0 : it->second + 1, "): ");
  }

 private:
  std::string source_;
  CsvColumns columns_;
};

// Calls `row_fn(fields, line_no)` for each data row of a CSV text whose header
// has the `required` columns.
template <typename RowFn>
absl::Status ForEachRow(absl::string_view text, CsvTable& table,
                        std::initializer_list<absl::string_view> required, RowFn row_fn) {
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripSuffix(line, "\r");
    if (IsSkippableLine(line)) continue;
    if (!table.has_header()) {
      RETURN_IF_ERROR(table.SetHeader(line, line_no, required));
      continue;
    }
    RETURN_IF_ERROR(row_fn(SplitCsvLine(line), line_no));
  }
  return absl::OkStatus();
}

struct Checkpoint {
  std::string arch;
  double n_params = 0, tokens = 0, flops = 0;
  std::optional<double> validation_loss, validation_bpb;
};

using CheckpointKey = std::pair<std::string, int64_t>;  // run, step

absl::StatusOr<std::map<CheckpointKey, Checkpoint>> ParseCheckpoints(absl::string_view text,
                                                                     absl::string_view source) {
  std::map<CheckpointKey, Checkpoint> checkpoints;
  CsvTable table(source);
  RETURN_IF_ERROR(ForEachRow(
      text, table, {"run", "arch", "n_params", "step", "tokens", "flops"},
      [&](const std::vector<std::string>& row, int line_no) -> absl::Status {
        const absl::StatusOr<std::string> superseded = table.Text(row, line_no, "superseded");
        if (!superseded.ok()) return superseded.status();
        if (*superseded == "1" || *superseded == "true") return absl::OkStatus();
        Checkpoint c;
        ASSIGN_OR_RETURN(const std::string run, table.RequiredText(row, line_no, "run"));
        ASSIGN_OR_RETURN(c.arch, table.RequiredText(row, line_no, "arch"));
        ASSIGN_OR_RETURN(const double step, table.RequiredNumber(row, line_no, "step"));
        ASSIGN_OR_RETURN(c.n_params, table.RequiredNumber(row, line_no, "n_params"));
        ASSIGN_OR_RETURN(c.tokens, table.RequiredNumber(row, line_no, "tokens"));
        ASSIGN_OR_RETURN(c.flops, table.RequiredNumber(row, line_no, "flops"));
        ASSIGN_OR_RETURN(c.validation_loss, table.Number(row, line_no, "validation_loss"));
        ASSIGN_OR_RETURN(c.validation_bpb, table.Number(row, line_no, "validation_bits_per_byte"));
        checkpoints[{run, static_cast<int64_t>(step)}] = std::move(c);
        return absl::OkStatus();
      }));
  if (!table.has_header())
    return absl::InvalidArgumentError(absl::StrCat(source, ": no header row"));
  return checkpoints;
}

EvaluationRow RowAt(const CheckpointKey& key, const Checkpoint& c, std::string task,
                    std::string metric, double value) {
  return {.arch = c.arch,
          .run = key.first,
          .n_params = c.n_params,
          .step = key.second,
          .tokens = c.tokens,
          .flops = c.flops,
          .task = std::move(task),
          .metric = std::move(metric),
          .value = value};
}

}  // namespace

absl::StatusOr<StudyEvaluation> ParseEvaluation(std::string_view evals_text_in,
                                                std::string_view evals_source_in,
                                                std::string_view checkpoints_text,
                                                std::string_view checkpoints_source) {
  const absl::string_view evals_text(evals_text_in.data(), evals_text_in.size());
  const absl::string_view evals_source(evals_source_in.data(), evals_source_in.size());
  ASSIGN_OR_RETURN(
      const auto checkpoints,
      ParseCheckpoints(absl::string_view(checkpoints_text.data(), checkpoints_text.size()),
                       absl::string_view(checkpoints_source.data(), checkpoints_source.size())));
  StudyEvaluation evaluation;
  // Each run's last checkpoint with a validation loss (the map is ordered by step).
  std::map<std::string, const std::pair<const CheckpointKey, Checkpoint>*> last_validated;
  for (const auto& entry : checkpoints) {
    if (entry.second.validation_loss) last_validated[entry.first.first] = &entry;
  }
  for (const auto& [run, entry] : last_validated) {
    const auto& [key, c] = *entry;
    evaluation.rows.push_back(RowAt(key, c, "validation", "loss", *c.validation_loss));
    if (c.validation_bpb) {
      evaluation.rows.push_back(RowAt(key, c, "validation", "bits_per_byte", *c.validation_bpb));
    }
  }
  // One heatmap per (run, step, task): its figure rows differ only in extension.
  std::map<std::tuple<std::string, int64_t, std::string>, std::string> heatmaps;
  CsvTable table(evals_source);
  RETURN_IF_ERROR(ForEachRow(
      evals_text, table, {"run", "step", "task", "metric", "value", "text"},
      [&](const std::vector<std::string>& row, int line_no) -> absl::Status {
        ASSIGN_OR_RETURN(const std::string run, table.RequiredText(row, line_no, "run"));
        ASSIGN_OR_RETURN(const double step, table.RequiredNumber(row, line_no, "step"));
        ASSIGN_OR_RETURN(std::string task, table.RequiredText(row, line_no, "task"));
        ASSIGN_OR_RETURN(std::string metric, table.RequiredText(row, line_no, "metric"));
        ASSIGN_OR_RETURN(const std::optional<double> value, table.Number(row, line_no, "value"));
        ASSIGN_OR_RETURN(const std::string text, table.Text(row, line_no, "text"));
        const bool figure = metric.starts_with("figure[") && !text.empty();
        if (!value && !figure) return absl::OkStatus();  // a text row the report does not show
        const CheckpointKey key{run, static_cast<int64_t>(step)};
        auto it = checkpoints.find(key);
        if (it == checkpoints.end()) {
          return absl::InvalidArgumentError(absl::StrCat(
              evals_source, ":", line_no, ": run '", run, "' has no checkpoint at step ",
              key.second, " in ",
              absl::string_view(checkpoints_source.data(), checkpoints_source.size())));
        }
        if (figure) {
          heatmaps.try_emplace({run, key.second, task},
                               fs::path(text).replace_extension().string());
          return absl::OkStatus();
        }
        evaluation.rows.push_back(
            RowAt(key, it->second, std::move(task), std::move(metric), *value));
        return absl::OkStatus();
      }));
  if (!table.has_header()) {
    return absl::InvalidArgumentError(absl::StrCat(evals_source, ": no header row"));
  }
  for (const auto& [key, path] : heatmaps) {
    const auto& [run, step, task] = key;
    evaluation.heatmaps.push_back({.arch = checkpoints.at({run, step}).arch,
                                   .run = run,
                                   .step = step,
                                   .task = task,
                                   .path = path});
  }
  return evaluation;
}

absl::StatusOr<StudyEvaluation> ReadEvaluationFiles(const std::string& evals_path,
                                                    const std::string& checkpoints_path) {
  ASSIGN_OR_RETURN(const std::string evals, ReadWholeFile(evals_path));
  ASSIGN_OR_RETURN(const std::string checkpoints, ReadWholeFile(checkpoints_path));
  return ParseEvaluation(evals, evals_path, checkpoints, checkpoints_path);
}

absl::StatusOr<std::vector<std::string>> PlaceHeatmaps(StudyEvaluation& evaluation,
                                                       const std::string& out_dir) {
  std::vector<std::string> missing;
  std::vector<EvaluationFigure> placed;
  std::error_code ec;
  for (EvaluationFigure& f : evaluation.heatmaps) {
    const std::string name =
        absl::StrCat("heatmaps/", f.arch, "-", f.run, "-", f.task, "-step-", f.step);
    bool found = false;
    for (const char* ext : {".svg", ".png"}) {
      const fs::path from = f.path + ext;
      if (!fs::exists(from)) continue;
      const fs::path to = fs::path(out_dir) / (name + ext);
      fs::create_directories(to.parent_path(), ec);
      if (ec || !fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec)) {
        return absl::UnavailableError(
            absl::StrCat("cannot copy ", from.string(), " to ", to.string(), ": ", ec.message()));
      }
      found = true;
    }
    if (!found) {
      missing.push_back(f.path);
      continue;
    }
    f.path = name;
    placed.push_back(std::move(f));
  }
  evaluation.heatmaps = std::move(placed);
  return missing;
}

}  // namespace flopwise::fitting
