#include "fitting/grouping.h"

#include <algorithm>
#include <array>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/str_cat.h"

namespace flopwise::fitting {
namespace {

struct KeyName {
  GroupKey key;
  std::string_view name;
};
// In label order.
constexpr std::array<KeyName, 4> kKeys = {{{kGroupGrid, "grid"},
                                           {kGroupContext, "context"},
                                           {kGroupVocab, "vocab"},
                                           {kGroupFlags, "flags"}}};

std::string KnownKeys() {
  std::string out = "arch";
  for (const KeyName& k : kKeys) out += Cat(", ", k.name);
  return out;
}

std::string Value(const RunSettings& s, GroupKey key) {
  auto number = [](int v) { return v > 0 ? absl::StrCat(v) : std::string("unknown"); };
  switch (key) {
    case kGroupGrid:
      return s.grids.empty() ? "unknown" : (s.grids[0].empty() ? "(top level)" : s.grids[0]);
    case kGroupContext:
      return number(s.context);
    case kGroupVocab:
      return number(s.vocab);
    case kGroupFlags:
      return s.flags.empty() ? "default" : s.flags;
  }
  return "";
}

// The keys whose value differs between the records.
unsigned DifferingKeys(std::span<const CheckpointRecord> records) {
  unsigned keys = 0;
  for (const KeyName& k : kKeys) {
    std::set<std::string> values;
    for (const CheckpointRecord& r : records) values.insert(Value(r.settings, k.key));
    if (values.size() > 1) keys |= k.key;
  }
  return keys;
}

std::string Label(const RunSettings& s, unsigned keys) {
  std::vector<std::string> parts;
  for (const KeyName& k : kKeys) {
    if (keys & k.key) parts.push_back(Cat(k.name, "=", Value(s, k.key)));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

absl::StatusOr<GroupBy> ParseGroupBy(std::string_view text) {
  if (text == "auto") return GroupBy{};
  GroupBy by{.automatic = false, .keys = 0};
  bool arch = false;
  for (absl::string_view split : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    const std::string_view part(split.data(), split.size());
    if (part == "arch") {
      arch = true;
      continue;
    }
    auto known =
        std::find_if(kKeys.begin(), kKeys.end(), [&](const KeyName& k) { return k.name == part; });
    if (known == kKeys.end()) {
      return absl::InvalidArgumentError(
          Cat("unknown key '", part, "' (known: auto, or a list of ", KnownKeys(), ")"));
    }
    by.keys |= known->key;
  }
  if (!arch) {
    return absl::InvalidArgumentError(
        Cat("'", text, "' lacks arch (architectures are always fitted apart)"));
  }
  return by;
}

std::string GroupByText(const GroupBy& by) {
  if (by.automatic) return "auto";
  std::string out = "arch";
  for (const KeyName& k : kKeys) {
    if (by.keys & k.key) out += Cat(",", k.name);
  }
  return out;
}

absl::StatusOr<std::vector<CheckpointRecord>> GroupRecords(
    std::span<const CheckpointRecord> records, const Grouping& grouping) {
  std::vector<CheckpointRecord> selected;
  std::set<std::string> grids;
  for (const CheckpointRecord& r : records) {
    grids.insert(r.settings.grids.begin(), r.settings.grids.end());
    if (grouping.grid.empty()) {
      selected.push_back(r);
    } else if (std::find(r.settings.grids.begin(), r.settings.grids.end(), grouping.grid) !=
               r.settings.grids.end()) {
      selected.push_back(r);
      selected.back().settings.grids = {grouping.grid};
    }
  }
  if (!grouping.grid.empty() && selected.empty()) {
    return absl::InvalidArgumentError(
        grids.empty()
            ? absl::StrCat("grid: no run names its grid, so '", grouping.grid,
                           "' selects nothing (records read from a file need a 'grid' column)")
            : absl::StrCat("grid: no run of grid '", grouping.grid,
                           "' (the runs' grids: ", absl::StrJoin(grids, ", "), ")"));
  }
  const unsigned keys = grouping.by.automatic ? DifferingKeys(selected) : grouping.by.keys;
  for (CheckpointRecord& r : selected) r.group = Label(r.settings, keys);
  return selected;
}

}  // namespace flopwise::fitting
