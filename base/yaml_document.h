// One YAML document as the sweep spec and the programs' config files read it:
// stricter than yaml-cpp alone, which accepts bytes that are not UTF-8 (they
// later break protobuf strings) and keeps the first of two equal keys in a
// mapping without a word.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string_view>

#include "absl/status/statusor.h"

namespace flopwise {

// Parses `text`. InvalidArgument with the position of the first problem:
// "line 2, column 5: not valid UTF-8 (byte 0xff)", "line 4, column 1:
// duplicate key 'lr' (first at line 2)", or yaml-cpp's own syntax message.
absl::StatusOr<YAML::Node> ParseYamlDocument(std::string_view text);

}  // namespace flopwise
