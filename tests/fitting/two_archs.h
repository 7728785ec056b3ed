// Synthetic checkpoint records of two architectures that differ only in
// their irreducible loss, shared by the recommendation and report tests.
#pragma once

#include <utility>
#include <vector>

#include "fitting/records.h"
#include "fitting/synthetic.h"

namespace flopwise::fitting {

// "good" has a lower irreducible loss than "bad"; everything else equal.
inline std::vector<CheckpointRecord> TwoArchs() {
  std::vector<CheckpointRecord> records;
  for (auto [arch, e] : {std::pair{"good", 1.5}, std::pair{"bad", 1.9}}) {
    ChinchillaLaw law;
    law.e = e;
    ChinchillaCurveOptions data;
    data.arch = arch;
    data.model_sizes = {1e7, 3e7, 1e8, 3e8, 1e9, 3e9};
    const auto r = ChinchillaRecords(law, data);
    records.insert(records.end(), r.begin(), r.end());
  }
  return records;
}

}  // namespace flopwise::fitting
