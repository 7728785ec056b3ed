// Sweeps of flopwise-train's runs (the real trainer, not the stand-in) on a
// tiny byte-level data set, for the end-to-end tests that train for real.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "tests/integration/cluster.h"
#include "tests/integration/test_paths.h"

namespace flopwise::testing {

// Writes a few kB of text under `dir` and prepares it with the byte
// tokenizer (a fifth for validation); returns the data directory, or "" with
// a gtest failure.
std::string PrepareTinyData(const TempDir& dir);

// The one run of a RealTrainerSpec: `arch` cpu-1 at context 64, lr 3e-3, a
// metric row per step.
struct RealTrainerRun {
  std::string arch = "tnl";
  int steps = 8;
  int checkpoint_steps = 4;
  int batch_tokens = 256;  // 4 sequences
  int cpu_cores = 2;       // per rank
  int replicas = 1;        // > 1: a data-parallel run of that many ranks
};

std::string RealTrainerSpec(const std::string& name, const std::string& data_dir,
                            const RealTrainerRun& run);

// The loss of every effective metric row of the sweep's (only) run, by step.
std::map<int64_t, double> LossesByStep(Cluster& cluster, int64_t sweep_id);

}  // namespace flopwise::testing
