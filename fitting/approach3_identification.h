// Whether a sweep's data pin down approach 3's L(N, D) = E + A/N^α + B/D^β.
// With too few sizes or curves that all stop at the same tokens, the fit
// trades E against A and B: its bootstrap intervals run from ~0 to
// astronomical values, and printing them as if they meant something misleads.
// The report and `flopwise fit` print this verdict instead of such intervals.
#pragma once

#include <string>

#include "fitting/fit.h"

namespace flopwise::fitting {

// An interval of A or B spanning more than this many decades is unbounded in
// practice (the data do not constrain the term).
inline constexpr double kApproach3MaxDecades = 6;
// E's lower end below this fraction of E's estimate is read as 0: the data
// cannot tell an irreducible loss from none.
inline constexpr double kApproach3MinELowerFraction = 1e-3;
// Approach 3 failing in more than this share of the bootstrap resamples leaves
// too few fits for an interval.
inline constexpr double kApproach3MaxFailedShare = 0.5;

enum class Approach3Verdict {
  kIdentified,     // every interval finite and bounded, E's lower end above 0
  kNotIdentified,  // `reason` says why
  kNotChecked,     // no approach-3 fit, or no bootstrap to judge it by
};

struct Approach3Identification {
  Approach3Verdict verdict = Approach3Verdict::kNotChecked;
  std::string reason;  // for kNotIdentified: what failed, with the numbers
};

// Judges `fit`'s approach-3 intervals (E, A, B, α, β) and bootstrap draws.
Approach3Identification IdentifyApproach3(const ArchFit& fit);

// "approach 3 is not identified by this data (E's 95% interval reaches 0: ...)"
// for kNotIdentified; empty otherwise.
std::string Approach3NotIdentifiedText(const Approach3Identification& id);

}  // namespace flopwise::fitting
