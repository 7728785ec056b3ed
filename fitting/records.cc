#include "fitting/records.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "fitting/csv_line.h"

namespace flopwise::fitting {
namespace {

using Columns = CsvColumns;

// Reads field `name` of a CSV row; `out` is a string or a double.
template <typename T>
absl::Status Field(const std::vector<std::string>& row, const Columns& columns,
                   absl::string_view name, absl::string_view source, int line_no, T& out) {
  auto it = columns.find(std::string(name));
  if (it == columns.end()) return absl::OkStatus();
  auto where = [&] {
    return absl::StrCat(source, ":", line_no, ": column '", name, "' (", it->second + 1, "): ");
  };
  if (it->second >= row.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where(), "missing (the row has ", row.size(), " fields)"));
  }
  const std::string& text = row[it->second];
  if constexpr (std::is_same_v<T, std::string>) {
    if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(where(), "empty"));
    out = text;
  } else {
    auto v = ParseCsvNumber(text);
    if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat(where(), v.status().message()));
    out = static_cast<T>(*v);
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(double v, absl::string_view name, absl::string_view where) {
  if (v > 0 && std::isfinite(v)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, name, ": must be positive and finite (got ", v, ")"));
}

absl::Status CheckRecord(const CheckpointRecord& r, absl::string_view where) {
  if (absl::Status s = CheckPositive(r.n_params, "n_params", where); !s.ok()) return s;
  if (absl::Status s = CheckPositive(r.tokens, "tokens", where); !s.ok()) return s;
  if (absl::Status s = CheckPositive(r.flops, "flops", where); !s.ok()) return s;
  if (absl::Status s = CheckPositive(r.loss, "loss", where); !s.ok()) return s;
  if (!(r.n_params_total >= 0) || !std::isfinite(r.n_params_total)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, "n_params_total: must be positive or absent (got ", r.n_params_total, ")"));
  }
  return absl::OkStatus();
}

// A count such as a context length: a positive whole number.
absl::Status CheckCount(double v, absl::string_view name, absl::string_view where) {
  if (v >= 1 && v <= 1e9 && v == std::floor(v)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, name, ": must be a positive whole number (got ", v, ")"));
}

// The optional columns: validation_loss (positive), the run's settings
// context, layers, d_model, vocab (positive whole numbers), grid and flags
// (text). An absent column or an empty cell leaves the field unknown.
absl::Status OptionalFields(const std::vector<std::string>& row, const Columns& columns,
                            absl::string_view source, int line_no, CheckpointRecord& r) {
  auto present = [&](const char* name) {
    auto it = columns.find(name);
    return it != columns.end() && it->second < row.size() && !row[it->second].empty();
  };
  const std::string where = absl::StrCat(source, ":", line_no, ": ");
  if (present("validation_loss")) {
    RETURN_IF_ERROR(Field(row, columns, "validation_loss", source, line_no, r.validation_loss));
    RETURN_IF_ERROR(CheckPositive(r.validation_loss, "validation_loss", where));
  }
  const std::pair<const char*, int*> counts[] = {{"context", &r.settings.context},
                                                 {"layers", &r.settings.layers},
                                                 {"d_model", &r.settings.d_model},
                                                 {"vocab", &r.settings.vocab}};
  for (auto [name, out] : counts) {
    if (!present(name)) continue;
    double v = 0;
    RETURN_IF_ERROR(Field(row, columns, name, source, line_no, v));
    RETURN_IF_ERROR(CheckCount(v, name, where));
    *out = static_cast<int>(v);
  }
  if (present("grid")) {
    std::string grid;
    RETURN_IF_ERROR(Field(row, columns, "grid", source, line_no, grid));
    r.settings.grids = {grid};
  }
  if (present("flags"))
    RETURN_IF_ERROR(Field(row, columns, "flags", source, line_no, r.settings.flags));
  return absl::OkStatus();
}

// The same optional keys in a JSON Lines object (null: unknown).
absl::Status OptionalKeys(const nlohmann::json& j, absl::string_view where, CheckpointRecord& r) {
  auto present = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  if (present("validation_loss")) {
    if (!j["validation_loss"].is_number()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "key 'validation_loss': not a number"));
    }
    r.validation_loss = j["validation_loss"].get<double>();
    RETURN_IF_ERROR(CheckPositive(r.validation_loss, "validation_loss", where));
  }
  const std::pair<const char*, int*> counts[] = {{"context", &r.settings.context},
                                                 {"layers", &r.settings.layers},
                                                 {"d_model", &r.settings.d_model},
                                                 {"vocab", &r.settings.vocab}};
  for (auto [key, out] : counts) {
    if (!present(key)) continue;
    if (!j[key].is_number()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "key '", key, "': not a number"));
    }
    const double v = j[key].get<double>();
    RETURN_IF_ERROR(CheckCount(v, key, where));
    *out = static_cast<int>(v);
  }
  for (const char* key : {"grid", "flags"}) {
    if (present(key) && !j[key].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "key '", key, "': not a string"));
    }
  }
  if (present("grid")) r.settings.grids = {j["grid"].get<std::string>()};
  if (present("flags")) r.settings.flags = j["flags"].get<std::string>();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CheckpointRecord>> ParseCsv(absl::string_view text,
                                                       absl::string_view source) {
  std::vector<CheckpointRecord> records;
  std::optional<Columns> columns;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripSuffix(line, "\r");
    if (IsSkippableLine(line)) continue;
    if (!columns) {
      auto header = ParseCsvHeader(line, source, line_no,
                                   {"arch", "run", "n_params", "tokens", "flops", "loss"});
      if (!header.ok()) return header.status();
      columns = std::move(*header);
      continue;
    }
    const std::vector<std::string> row = SplitCsvLine(line);
    CheckpointRecord r;
    for (absl::Status s : {Field(row, *columns, "arch", source, line_no, r.arch),
                           Field(row, *columns, "run", source, line_no, r.run),
                           Field(row, *columns, "n_params", source, line_no, r.n_params),
                           Field(row, *columns, "tokens", source, line_no, r.tokens),
                           Field(row, *columns, "flops", source, line_no, r.flops),
                           Field(row, *columns, "loss", source, line_no, r.loss)}) {
      if (!s.ok()) return s;
    }
    auto total = columns->find("n_params_total");
    if (total != columns->end() && total->second < row.size() && !row[total->second].empty()) {
      if (absl::Status s =
              Field(row, *columns, "n_params_total", source, line_no, r.n_params_total);
          !s.ok()) {
        return s;
      }
    }
    RETURN_IF_ERROR(OptionalFields(row, *columns, source, line_no, r));
    if (absl::Status s = CheckRecord(r, absl::StrCat(source, ":", line_no, ": ")); !s.ok()) {
      return s;
    }
    records.push_back(std::move(r));
  }
  if (!columns) return absl::InvalidArgumentError(absl::StrCat(source, ": no header row"));
  return records;
}

absl::StatusOr<std::vector<CheckpointRecord>> ParseJsonLines(absl::string_view text,
                                                             absl::string_view source) {
  std::vector<CheckpointRecord> records;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (IsSkippableLine(line)) continue;
    const std::string where = absl::StrCat(source, ":", line_no, ": ");
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    // `flopwise export --format jsonl` names the non-embedding count this way.
    if (j.is_object() && !j.contains("n_params") && j.contains("params_non_embedding")) {
      j["n_params"] = j["params_non_embedding"];
    }
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "not a JSON object"));
    }
    CheckpointRecord r;
    for (const char* key : {"arch", "run"}) {
      if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "key '", key, "': must be a non-empty string"));
      }
    }
    r.arch = j["arch"].get<std::string>();
    r.run = j["run"].get<std::string>();
    const std::pair<const char*, double*> numbers[] = {{"n_params", &r.n_params},
                                                       {"tokens", &r.tokens},
                                                       {"flops", &r.flops},
                                                       {"loss", &r.loss},
                                                       {"n_params_total", &r.n_params_total}};
    for (auto [key, out] : numbers) {
      const bool optional = absl::string_view(key) == "n_params_total";
      if (!j.contains(key) || j[key].is_null()) {
        if (optional) continue;
        return absl::InvalidArgumentError(absl::StrCat(where, "key '", key, "': missing"));
      }
      if (!j[key].is_number()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "key '", key, "': not a number"));
      }
      *out = j[key].get<double>();
    }
    RETURN_IF_ERROR(OptionalKeys(j, where, r));
    if (absl::Status s = CheckRecord(r, where); !s.ok()) return s;
    records.push_back(std::move(r));
  }
  return records;
}

}  // namespace

absl::StatusOr<std::vector<CheckpointRecord>> ParseRecords(std::string_view text_in,
                                                           std::string_view source_in) {
  const absl::string_view text(text_in.data(), text_in.size());
  const absl::string_view source(source_in.data(), source_in.size());
  const absl::string_view body = absl::StripLeadingAsciiWhitespace(text);
  auto records =
      !body.empty() && body.front() == '{' ? ParseJsonLines(text, source) : ParseCsv(text, source);
  if (records.ok() && records->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no records"));
  }
  return records;
}

absl::StatusOr<std::vector<CheckpointRecord>> ReadRecordsFile(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return ParseRecords(*text, path);
}

absl::StatusOr<std::vector<ShapeOption>> ReadShapesFile(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  std::vector<ShapeOption> shapes;
  std::optional<Columns> columns;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_no;
    line = absl::StripSuffix(line, "\r");
    if (IsSkippableLine(line)) continue;
    if (!columns) {
      auto header = ParseCsvHeader(line, path, line_no,
                                   {"arch", "name", "layers", "d_model", "heads", "n_params"});
      if (!header.ok()) return header.status();
      columns = std::move(*header);
      continue;
    }
    const std::vector<std::string> row = SplitCsvLine(line);
    ShapeOption s;
    for (absl::Status st :
         {Field(row, *columns, "arch", path, line_no, s.arch),
          Field(row, *columns, "name", path, line_no, s.name),
          Field(row, *columns, "layers", path, line_no, s.layers),
          Field(row, *columns, "d_model", path, line_no, s.d_model),
          Field(row, *columns, "heads", path, line_no, s.heads),
          Field(row, *columns, "n_params", path, line_no, s.n_params),
          Field(row, *columns, "flops_per_token", path, line_no, s.flops_per_token)}) {
      if (!st.ok()) return st;
    }
    if (absl::Status st =
            CheckPositive(s.n_params, "n_params", absl::StrCat(path, ":", line_no, ": "));
        !st.ok()) {
      return st;
    }
    shapes.push_back(std::move(s));
  }
  return shapes;
}

}  // namespace flopwise::fitting
