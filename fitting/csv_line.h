// The CSV reading shared by the record readers of fitting/ (records.cc,
// evaluation_records.cc): one line split into fields, comment and blank lines,
// numbers. Internal to fitting/.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flopwise::fitting {

// Splits a CSV line at commas outside double quotes ("" inside quotes is one
// quote); fields are stripped of surrounding whitespace.
std::vector<std::string> SplitCsvLine(absl::string_view line);

// Columns of a CSV header: name -> 0-based index.
using CsvColumns = std::map<std::string, size_t>;

// The header's columns (`params_non_embedding`, as `flopwise export` names the
// non-embedding count, also answers to `n_params`); InvalidArgument
// "SOURCE:LINE: header lacks the column 'loss'" when a required one is absent.
absl::StatusOr<CsvColumns> ParseCsvHeader(absl::string_view line, absl::string_view source,
                                          int line_no,
                                          std::initializer_list<absl::string_view> required);

// The whole file at `path`; NotFound "PATH: cannot open".
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// A blank line or one starting with '#'.
bool IsSkippableLine(absl::string_view line);

// The whole of `text` as a finite-range double; InvalidArgument "not a number: 'abc'".
absl::StatusOr<double> ParseCsvNumber(absl::string_view text);

}  // namespace flopwise::fitting
