// The nearest of a few names to a mistyped one, for "did you mean" hints.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flopwise {

// The candidate nearest to `word` by edit distance (insertions, deletions,
// substitutions, and swaps of two neighbouring characters, each counting 1),
// when that distance is at most max(1, word.size() / 3); nullopt otherwise.
// On a tie the earlier candidate wins.
std::optional<std::string> ClosestName(std::string_view word,
                                       std::span<const std::string> candidates);

}  // namespace flopwise
