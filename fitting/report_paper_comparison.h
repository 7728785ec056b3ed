// The report's "This study beside the paper" section: the loss-against-compute
// exponents against the paper's Table 3, which architecture reaches the lowest
// loss at equal compute, and retrieval (Needle in a Haystack). Each finding
// gets a plain verdict: reproduced, not reproduced, or not something a study
// of this size can show (and why).
#pragma once

#include <string>

#include "fitting/evaluation_rows.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

// The paper's Table 3 exponents for one architecture (Shen et al. 2024; the
// exponents do not depend on the unit of C).
struct PaperExponents {
  const char* arch;  // flopwise's name: llama, tnl, hgrn2, cos2
  double loss, n_opt, d_opt;
};
inline constexpr PaperExponents kPaperTable3[] = {
    {"llama", -0.0798, 0.7118, 0.5102},
    {"tnl", -0.0768, 0.6470, 0.4684},
    {"hgrn2", -0.0753, 0.6427, 0.4500},
    {"cos2", -0.0756, 0.6516, 0.4529},
};

// The section; `eval` may be null (no evaluations: retrieval cannot be
// compared, and the section says so).
std::string PaperComparisonMarkdown(const FitReport& fit, const StudyEvaluation* eval);

}  // namespace flopwise::fitting
