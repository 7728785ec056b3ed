// The options of `flopwise fit`, `optimal` and `plot` (cmd_fit.cc), shared by
// the offline mode (--input FILE) and the coordinator mode (--sweep ID,
// fit_remote.h).
#pragma once

#include <cstdint>
#include <string>

#include "client/channel.h"

namespace flopwise::cli {

struct FitFlags {
  std::string input;     // records file (offline)
  int64_t sweep_id = 0;  // the coordinator's sweep (0: offline)
  std::string unit = "flops";
  std::string method = "all";
  std::string convention = "formula";
  std::string shapes;  // CSV; empty: the models' presets
  std::string out_dir;
  int bootstrap = 0;
  double level = 0.95;
  uint64_t seed = 1;
  double min_tokens = 0;
  double skip_fraction = 0;
  std::string envelope = "pareto";
  std::string metric =
      "auto";  // train, validation or auto (validation when every checkpoint has it)
  std::string group_by = "auto";  // fitting/grouping.h
  std::string grid;               // only this spec grid's runs; empty: every run
  double budget = 0;
  bool budget_given = false;  // --budget was on the command line (0 is then an error)
  bool extrapolate = false;   // answer a budget far outside the data's compute range
  bool json = false;
  // A fit with bootstrap may take minutes: the calls' default deadline is long.
  client::ConnectFlags connect = [] {
    client::ConnectFlags flags;
    flags.timeout_ms = 600'000;
    return flags;
  }();
};

}  // namespace flopwise::cli
