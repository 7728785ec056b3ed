// The models' presets as shapes recommendations round N_opt to (library
// flopwise_fitting_shapes: the part of fitting that knows models/).
#pragma once

#include <vector>

#include "fitting/fit.h"

namespace flopwise::fitting {

// The paper and CPU-ladder presets of every architecture of `fit` that models/
// knows, with exact non-embedding counts and, under the formula convention,
// the paper's training FLOPs per token at the preset's context (under 6nd,
// flops_per_token stays 0: the fit's k·N is used).
std::vector<ShapeOption> PresetShapes(const FitReport& fit);

}  // namespace flopwise::fitting
