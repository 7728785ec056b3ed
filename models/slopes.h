// ALiBi-style head slopes (docs/model-contract.md §3.2), used for TNL's decays and
// the TPE decays of cos2 (§13.4).
#pragma once

#include <vector>

namespace flopwise::models {

// heads > 0. Power of two H: r = 2^(-8/H), s_i = r^(i+1); otherwise the
// slopes of the next lower power of two P followed by the even-indexed
// slopes of 2P, truncated to H.
std::vector<double> HeadSlopes(int heads);

// TNL's layer factor κ_l = 1 - l/(L-1) + 1e-5 (κ = 1 when L = 1).
double LayerDecayFactor(int layer, int layers);

}  // namespace flopwise::models
