#include "base/yaml_document.h"

#include <map>
#include <string>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "base/utf8.h"

namespace flopwise {
namespace {

std::string Position(int line, int column) {
  return Cat("line ", line + 1, ", column ", column + 1);
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
  if (absl::Status utf8 = CheckUtf8(text); !utf8.ok()) return utf8;
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
