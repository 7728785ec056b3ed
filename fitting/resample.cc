#include "fitting/resample.h"

#include <random>

namespace flopwise::fitting {

std::vector<size_t> ResampleRuns(size_t runs, uint64_t seed, size_t arch_index, int resample) {
  std::seed_seq seq{static_cast<uint64_t>(seed), static_cast<uint64_t>(arch_index),
                    static_cast<uint64_t>(resample)};
  std::mt19937_64 rng(seq);
  std::uniform_int_distribution<size_t> pick(0, runs - 1);
  std::vector<size_t> indices(runs);
  for (size_t& i : indices) i = pick(rng);
  return indices;
}

}  // namespace flopwise::fitting
