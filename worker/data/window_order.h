// The order in which a TokenStream visits its windows: a seeded permutation
// of [0, windows) per epoch, computed on demand (no table) by a Feistel
// network with cycle walking. Private to worker/data.
#pragma once

#include <cstdint>

namespace flopwise::data {

// Returns the index of the window visited at `step` (0-based, counting over
// all epochs). Without shuffle, windows are visited in order every epoch.
// REQUIRES: windows > 0.
uint64_t WindowAt(uint64_t step, uint64_t windows, uint64_t seed, bool shuffle);

}  // namespace flopwise::data
