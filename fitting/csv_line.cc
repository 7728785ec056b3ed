#include "fitting/csv_line.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace flopwise::fitting {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> SplitCsvLine(absl::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        fields.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      fields.emplace_back();
    } else {
      fields.back() += ch;
    }
  }
  for (std::string& f : fields) f = std::string(absl::StripAsciiWhitespace(f));
  return fields;
}

bool IsSkippableLine(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  return line.empty() || line.front() == '#';
}

absl::StatusOr<double> ParseCsvNumber(absl::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE) {
    return absl::InvalidArgumentError(absl::StrCat("not a number: '", text, "'"));
  }
  return v;
}

absl::StatusOr<CsvColumns> ParseCsvHeader(absl::string_view line, absl::string_view source,
                                          int line_no,
                                          std::initializer_list<absl::string_view> required) {
  CsvColumns columns;
  const std::vector<std::string> names = SplitCsvLine(line);
  for (size_t i = 0; i < names.size(); ++i) columns.emplace(names[i], i);
  if (!columns.contains("n_params") && columns.contains("params_non_embedding")) {
    columns.emplace("n_params", columns.at("params_non_embedding"));
  }
  for (absl::string_view name : required) {
    if (!columns.contains(std::string(name))) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_no, ": header lacks the column '", name, "'"));
    }
  }
  return columns;
}

}  // namespace flopwise::fitting
