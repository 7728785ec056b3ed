// The bootstrap's resampling of runs (private to fitting/; exposed for the
// benchmark's peer, which must draw the same resamples).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flopwise::fitting {

// Indices of `runs` runs drawn with replacement for resample `resample` of the
// architecture at `arch_index` (archs sorted by name, runs sorted by run id).
// Deterministic in (seed, arch_index, resample).
std::vector<size_t> ResampleRuns(size_t runs, uint64_t seed, size_t arch_index, int resample);

}  // namespace flopwise::fitting
