// The model flags as data: one row per flag of ModelConfig (its name, the
// architectures it applies to, how its value reads and prints). The trainer's
// command line, the sweep spec's `model` mapping, the run config (proto
// ModelShape, runspec/), checkpoint metadata and the sweep's dedupe key all
// iterate this table, so a new flag is a new field of ModelConfig, a new row
// here and a field of the same name in ModelShape (docs/models.md, "Adding a
// model flag").
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "models/config.h"

namespace flopwise::models {

enum class FlagKind {
  kBool,    // "true" / "false"; default false; a valueless command-line flag
  kChoice,  // one of a few names ("ssm", "none")
};

struct ModelFlag {
  std::string_view name;  // "norm_affine": spec key, proto field, metadata key
  FlagKind kind;
  std::string_view help;                   // one line for --help and the docs
  bool (*applies_to)(Arch arch);           // false: the flag keeps its default
  std::string (*get)(const ModelConfig&);  // the value as text
  // Parses `text` into the config; InvalidArgument "<name>: ..." otherwise.
  absl::Status (*set)(std::string_view text, ModelConfig* config);
};

// Every flag, in a fixed order.
std::span<const ModelFlag> ModelFlags();

// Null when no flag has this name.
const ModelFlag* FindModelFlag(std::string_view name);

// "--norm-affine" for "norm_affine".
std::string CommandLineFlag(const ModelFlag& flag);

// Flag values by name, as text (what a user wrote).
using ModelFlagValues = std::map<std::string, std::string>;

// Parses every value (InvalidArgument naming the flag, also for an unknown
// name) and sets those that apply to config->arch; the others keep their
// defaults, so a flag is never part of a model it does not name.
absl::Status ApplyModelFlags(const ModelFlagValues& values, ModelConfig* config);

// The flags of `config` that apply to its architecture and differ from the
// defaults.
ModelFlagValues NonDefaultModelFlags(const ModelConfig& config);

}  // namespace flopwise::models
