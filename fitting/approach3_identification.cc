#include "fitting/approach3_identification.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fitting/report.h"

namespace flopwise::fitting {
namespace {

bool Finite(const Interval& i) { return i.valid && std::isfinite(i.lo) && std::isfinite(i.hi); }

}  // namespace

Approach3Identification IdentifyApproach3(const ArchFit& fit) {
  Approach3Identification id;
  if (!fit.has_approach3 || fit.draws.empty()) return id;
  int failed = 0;
  for (const CoefVector& d : fit.draws) failed += !std::isfinite(d[kE]);
  std::vector<std::string> reasons;
  const double failed_share = static_cast<double>(failed) / fit.draws.size();
  if (failed_share > kApproach3MaxFailedShare) {
    reasons.push_back(absl::StrFormat("the fit failed in %d of %d bootstrap resamples", failed,
                                      fit.draws.size()));
  }
  const Coef coefs[] = {kE, kA, kB, kAlpha, kBeta};
  std::vector<std::string> unbounded;
  for (Coef c : coefs) {
    if (!Finite(fit.intervals[c])) unbounded.push_back(std::string(CoefName(c)));
  }
  if (!unbounded.empty()) {
    reasons.push_back(absl::StrCat("no finite interval for ", absl::StrJoin(unbounded, ", ")));
  }
  const Interval& e = fit.intervals[kE];
  if (Finite(e) && !(e.lo > kApproach3MinELowerFraction * fit.coefs[kE])) {
    reasons.push_back(absl::StrCat("E's interval reaches 0 (", FormatFinite(e.lo), " to ",
                                   FormatFinite(e.hi), ")"));
  }
  for (Coef c : {kA, kB}) {
    const Interval& i = fit.intervals[c];
    if (!Finite(i) || i.lo <= 0) continue;
    const double decades = std::log10(i.hi / i.lo);
    if (decades > kApproach3MaxDecades) {
      reasons.push_back(absl::StrFormat("%s's interval spans %.0f decades (%s to %s)", CoefName(c),
                                        decades, FormatFinite(i.lo), FormatFinite(i.hi)));
    }
  }
  if (reasons.empty()) {
    id.verdict = Approach3Verdict::kIdentified;
  } else {
    id.verdict = Approach3Verdict::kNotIdentified;
    id.reason = absl::StrJoin(reasons, "; ");
  }
  return id;
}

std::string Approach3NotIdentifiedText(const Approach3Identification& id) {
  if (id.verdict != Approach3Verdict::kNotIdentified) return "";
  return absl::StrCat("approach 3 is not identified by this data (", id.reason, ")");
}

}  // namespace flopwise::fitting
