// cosFormer2's LRPE angles θ [h, D] (docs/model-contract.md §5.1, decision D11).
#pragma once

#include <vector>

namespace flopwise::models {

// lrpe_variant transnormer, the init of the learnable θ:
// θ_i[c] = 10000^(-2(i·D + c)/d), d = h·D (global channel index).
std::vector<float> TransnormerLrpeTheta(int heads, int head_dim);

// lrpe_variant xmixers, a fixed buffer: θ_i[c] = 10000^(-2c/D) for c < D/2 and
// 0 for the other half, the same for every head i.
std::vector<float> XmixersLrpeTheta(int heads, int head_dim);

}  // namespace flopwise::models
