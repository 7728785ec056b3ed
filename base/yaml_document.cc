#include "base/yaml_document.h"

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "base/str_cat.h"
#include "base/utf8.h"

namespace flopwise {
namespace {

std::string Position(int line, int column) {
  return Cat("line ", line + 1, ", column ", column + 1);
}

absl::Status InvalidUtf8At(std::string_view text, int64_t offset) {
  int line = 0;
  int64_t line_start = 0;
  for (int64_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::InvalidArgumentError(
      Cat(Position(line, static_cast<int>(offset - line_start)), ": not valid UTF-8 (byte ",
          absl::StrFormat("0x%02x", static_cast<unsigned char>(text[offset])), ")"));
}

// The first repeated scalar key in any mapping under `node`, depth first.
absl::Status CheckUniqueKeys(const YAML::Node& node) {
  if (node.IsMap()) {
    std::map<std::string, int> first_line;
    for (const auto& entry : node) {
      if (entry.first.IsScalar()) {
        const auto [it, inserted] =
            first_line.emplace(entry.first.Scalar(), entry.first.Mark().line);
        if (!inserted) {
          return absl::InvalidArgumentError(
              Cat(Position(entry.first.Mark().line, entry.first.Mark().column), ": duplicate key '",
                  entry.first.Scalar(), "' (first at line ", it->second + 1, ")"));
        }
      }
      if (absl::Status status = CheckUniqueKeys(entry.second); !status.ok()) return status;
    }
  } else if (node.IsSequence()) {
    for (const auto& element : node) {
      if (absl::Status status = CheckUniqueKeys(element); !status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<YAML::Node> ParseYamlDocument(std::string_view text) {
  if (const int64_t bad = FindInvalidUtf8(text); bad >= 0) return InvalidUtf8At(text, bad);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(Position(e.mark.line, e.mark.column), ": ", e.msg));
  }
  if (absl::Status status = CheckUniqueKeys(root); !status.ok()) return status;
  return root;
}

}  // namespace flopwise
