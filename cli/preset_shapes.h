// The model shapes recommendations round to: every paper and CPU-ladder
// preset of each fitted architecture, with its exact non-embedding count and,
// under the formula FLOP convention, the paper's training FLOPs per token.
#pragma once

#include <vector>

#include "fitting/fit.h"

namespace flopwise::cli {

std::vector<fitting::ShapeOption> PresetShapes(const fitting::FitReport& fit);

}  // namespace flopwise::cli
