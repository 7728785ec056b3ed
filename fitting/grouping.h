// Which runs are fitted together. A sweep may hold more than one study (the
// paper's grid: the main ladder at context 8192, the 1B runs at other
// contexts, the 1B runs of other aspect ratios); fitting them as one envelope
// would mix them. Runs are grouped by architecture and by the run settings
// (RunSettings) named in GroupBy; by default every setting whose value differs
// between the selected runs splits them.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

// Settings that can split runs into groups, beside the architecture.
enum GroupKey : unsigned {
  kGroupGrid = 1,     // the spec grid that made the run (its shape family)
  kGroupContext = 2,  // context length
  kGroupVocab = 4,    // vocabulary size (the tokenizer)
  kGroupFlags = 8,    // model flags that differ from their defaults
};

struct GroupBy {
  bool automatic = true;  // every key whose value differs between the runs
  unsigned keys = 0;      // with !automatic: the keys named
};

// "auto", or a comma-separated list that contains "arch" and any of "grid",
// "context", "vocab", "flags" ("arch": architecture only). InvalidArgument
// naming the unknown or missing key (the caller prefixes its field's name).
absl::StatusOr<GroupBy> ParseGroupBy(std::string_view text);
std::string GroupByText(const GroupBy& by);  // "auto", "arch", "arch,context", ...

struct Grouping {
  std::string grid;  // keep only runs of this spec grid; empty: every run
  GroupBy by;
};

// The records to fit: those of `grouping.grid` (each then counted as of that
// grid only), each with its `group` label, such as "grid=context, context=2048"
// ("" when nothing splits the runs). InvalidArgument "grid: ..." when no
// record belongs to the grid, naming the grids the records have.
absl::StatusOr<std::vector<CheckpointRecord>> GroupRecords(
    std::span<const CheckpointRecord> records, const Grouping& grouping);

}  // namespace flopwise::fitting
