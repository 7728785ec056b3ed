#include "fitting/report_paper_comparison.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fitting/report.h"
#include "fitting/report_evaluation.h"

namespace flopwise::fitting {
namespace {

const PaperExponents* PaperRow(const std::string& arch) {
  for (const PaperExponents& p : kPaperTable3) {
    if (arch == p.arch) return &p;
  }
  return nullptr;
}

bool IsLinear(const std::string& arch) {
  return arch == "tnl" || arch == "hgrn2" || arch == "cos2";
}

// The paper's smallest model (70M parameters).
constexpr double kPaperSmallestN = 7e7;

std::string Exponent(const ArchFit& f, Coef c) {
  std::string s = FormatFinite(f.coefs[c], 3);
  if (f.intervals[c].valid) {
    absl::StrAppend(&s, " [", FormatFinite(f.intervals[c].lo, 3), ", ",
                    FormatFinite(f.intervals[c].hi, 3), "]");
  }
  return s;
}

void AppendExponents(std::string& out, const FitReport& fit) {
  out +=
      "### Loss against compute: exponents beside the paper's Table 3\n\nL(C) = β·C^α on the "
      "envelope (the exponents do not depend on the unit of C). The paper fitted models of 70M "
      "to 7B parameters on up to 300B tokens. ";
  double largest_n = 0;
  for (const ArchFit& f : fit.archs) {
    for (const EnvelopePoint& p : f.paper.envelope) largest_n = std::max(largest_n, p.n_params);
  }
  if (largest_n > 0 && largest_n < kPaperSmallestN / 10) {
    absl::StrAppendFormat(&out,
                          "This study's largest model on an envelope has %s parameters, %.0f "
                          "times fewer than the paper's smallest: its exponents describe another "
                          "regime, and agree with the paper's only by coincidence. ",
                          FormatFinite(largest_n, 3), kPaperSmallestN / largest_n);
  }
  out += "\n\n| arch | C range (";
  absl::StrAppend(&out, std::string(ComputeUnitName(fit.unit)),
                  ") | α of L, this study | α of L, paper | N_opt exponent, this study | paper | "
                  "D_opt exponent, this study | paper |\n| --- | --- | --- | ---: | --- | ---: | "
                  "--- | ---: |\n");
  std::vector<std::string> inside, outside;
  for (const ArchFit& f : fit.archs) {
    if (!f.has_paper) continue;
    const PaperExponents* p = PaperRow(f.arch);
    absl::StrAppend(&out, "| ", f.arch, " | ", FormatFinite(f.compute_min, 2), " – ",
                    FormatFinite(f.compute_max, 2), " | ", Exponent(f, kLExp), " | ",
                    p ? FormatFinite(p->loss) : "—", " | ", Exponent(f, kNoptExp), " | ",
                    p ? FormatFinite(p->n_opt) : "—", " | ", Exponent(f, kDoptExp), " | ",
                    p ? FormatFinite(p->d_opt) : "—", " |\n");
    const Interval& i = f.intervals[kLExp];
    if (p == nullptr || !i.valid) continue;
    (p->loss >= i.lo && p->loss <= i.hi ? inside : outside).push_back(f.arch);
  }
  out += "\n";
  if (!inside.empty()) {
    absl::StrAppend(&out, "The paper's α of L lies inside this study's interval for ",
                    absl::StrJoin(inside, ", "), ". ");
  }
  if (!outside.empty()) {
    absl::StrAppend(&out, "It lies outside it for ", absl::StrJoin(outside, ", "), ". ");
  }
  if (fit.bootstrap_resamples == 0) {
    out += "Without a bootstrap there are no intervals to set the paper's values against. ";
  } else if (inside.empty() && outside.empty()) {
    out += "None of these architectures is in the paper's Table 3. ";
  }
  out +=
      "The paper's finding is that the four architectures share nearly the same α (−0.075 to "
      "−0.080).\n\n";
}

// A fitted law y = coef * C^exponent at C.
double LawAt(double coef, double exponent, double c) { return coef * std::pow(c, exponent); }

void AppendLowestLoss(std::string& out, const FitReport& fit) {
  out +=
      "### Lowest loss at equal compute\n\nThe paper: the linear models (TNL, HGRN2, "
      "cosFormer2) reach a lower loss than LLaMA at equal compute.\n\n";
  std::vector<const ArchFit*> fitted;
  double common = std::numeric_limits<double>::infinity();
  for (const ArchFit& f : fit.archs) {
    if (!f.has_paper || !std::isfinite(f.compute_max)) continue;
    fitted.push_back(&f);
    common = std::min(common, f.compute_max);
  }
  if (fitted.size() < 2) {
    out += "This study: fewer than two architectures have a fitted L(C), so none to compare.\n\n";
    return;
  }
  // Fitted laws at the largest compute every architecture reached: inside the
  // data for each, and where the laws differ most.
  const ArchFit* best = nullptr;
  for (const ArchFit* f : fitted) {
    if (best == nullptr || LawAt(f->coefs[kLCoef], f->coefs[kLExp], common) <
                               LawAt(best->coefs[kLCoef], best->coefs[kLExp], common))
      best = f;
  }
  int resamples = 0, wins = 0;
  const size_t draws = fitted.front()->draws.size();
  for (size_t b = 0; b < draws; ++b) {
    const ArchFit* winner = nullptr;
    double lowest = std::numeric_limits<double>::infinity();
    bool complete = true;
    for (const ArchFit* f : fitted) {
      if (b >= f->draws.size()) {
        complete = false;
        break;
      }
      const double l = LawAt(f->draws[b][kLCoef], f->draws[b][kLExp], common);
      if (!std::isfinite(l)) {
        complete = false;
        break;
      }
      if (l < lowest) lowest = l, winner = f;
    }
    if (!complete) continue;
    ++resamples;
    wins += winner == best;
  }
  absl::StrAppendFormat(&out,
                        "This study, from the fitted L(C) at C = %s %s (the largest compute every "
                        "architecture reached): ",
                        FormatFinite(common, 3), ComputeUnitName(fit.unit));
  std::vector<std::string> losses;
  for (const ArchFit* f : fitted) {
    losses.push_back(absl::StrCat(
        f->arch, " ", FormatFinite(LawAt(f->coefs[kLCoef], f->coefs[kLExp], common), 4)));
  }
  absl::StrAppend(&out, absl::StrJoin(losses, ", "), ". Lowest: ", best->arch);
  const double share = resamples > 0 ? static_cast<double>(wins) / resamples : 0;
  if (resamples > 0) {
    absl::StrAppendFormat(&out, " (in %.0f%% of %d bootstrap resamples)", 100 * share, resamples);
  }
  out += ". ";
  const bool clear = resamples > 0 && share >= kClearWinnerFraction;
  const bool has_llama = std::any_of(fitted.begin(), fitted.end(),
                                     [](const ArchFit* f) { return f->arch == "llama"; });
  const bool has_linear =
      std::any_of(fitted.begin(), fitted.end(), [](const ArchFit* f) { return IsLinear(f->arch); });
  if (!has_llama || !has_linear) {
    out +=
        "Verdict: **not applicable**: the paper's comparison needs LLaMA and at least one of "
        "its linear models.\n\n";
  } else if (!clear) {
    out +=
        "Verdict: **not shown** — no architecture is lowest in enough bootstrap resamples to "
        "call a winner at this scale.\n\n";
  } else if (IsLinear(best->arch)) {
    out += "Verdict: **agrees** with the paper: a linear model is lowest.\n\n";
  } else {
    absl::StrAppend(&out, "Verdict: **does not agree**: ", best->arch,
                    " is lowest here. At these sizes the models are far from the paper's, so "
                    "this says nothing about the paper's regime.\n\n");
  }
}

void AppendRetrieval(std::string& out, const StudyEvaluation* eval) {
  out +=
      "### Retrieval (Needle in a Haystack)\n\nThe paper: the linear models are weaker at "
      "retrieval than LLaMA, because their state has a fixed size.\n\n";
  std::vector<RunEvaluation> largest;  // the largest run of each arch with a needle result
  if (eval != nullptr) {
    for (const RunEvaluation& r : LastEvaluations(eval->rows)) {
      const bool has_needle = std::any_of(r.last.begin(), r.last.end(), [](const auto& kv) {
        return kv.first.first.starts_with("needle") &&
               kv.first.second == "weighted_average_accuracy";
      });
      if (!has_needle) continue;
      if (!largest.empty() && largest.back().arch == r.arch)
        largest.back() = r;
      else
        largest.push_back(r);
    }
  }
  if (largest.empty()) {
    out += "This study: no needle evaluations, so nothing to compare.\n\n";
    return;
  }
  out += "Weighted accuracy of each architecture's largest run (chance 0.5):\n\n| arch | run |";
  std::vector<std::string> modes;
  for (const RunEvaluation& r : largest) {
    for (const auto& [tm, v] : r.last) {
      if (tm.first.starts_with("needle") && tm.second == "weighted_average_accuracy" &&
          std::find(modes.begin(), modes.end(), tm.first) == modes.end())
        modes.push_back(tm.first);
    }
  }
  std::sort(modes.begin(), modes.end());
  for (const std::string& m : modes) absl::StrAppend(&out, " ", m, " |");
  out += "\n| --- | --- |";
  for (size_t i = 0; i < modes.size(); ++i) out += " ---: |";
  out += "\n";
  bool all_at_chance = true;
  const RunEvaluation* best = nullptr;
  double best_mean = -1;
  for (const RunEvaluation& r : largest) {
    absl::StrAppend(&out, "| ", r.arch, " | ", r.run, " |");
    double sum = 0;
    int n = 0;
    for (const std::string& m : modes) {
      auto it = r.last.find({m, "weighted_average_accuracy"});
      if (it == r.last.end()) {
        out += " — |";
        continue;
      }
      absl::StrAppend(&out, " ", FormatFinite(it->second.value, 3), " |");
      all_at_chance &= AtChance(m, "weighted_average_accuracy", it->second.value);
      sum += it->second.value;
      ++n;
    }
    out += "\n";
    if (n > 0 && sum / n > best_mean) best_mean = sum / n, best = &r;
  }
  out += "\n";
  if (all_at_chance) {
    out +=
        "Verdict: **cannot be shown by a study this size**: every architecture is at chance on "
        "every needle mode, so the models do not retrieve at all and there is no difference to "
        "compare.\n\n";
  } else if (best != nullptr && !IsLinear(best->arch)) {
    absl::StrAppend(&out, "Verdict: **agrees** with the paper: ", best->arch,
                    " retrieves best (mean weighted accuracy over the modes ",
                    FormatFinite(best_mean, 3), ").\n\n");
  } else if (best != nullptr) {
    absl::StrAppend(&out, "Verdict: **does not agree**: ", best->arch,
                    ", a linear model, retrieves best here (mean weighted accuracy ",
                    FormatFinite(best_mean, 3), ").\n\n");
  }
}

}  // namespace

std::string PaperComparisonMarkdown(const FitReport& fit, const StudyEvaluation* eval) {
  std::string out = "## This study beside the paper\n\n";
  AppendExponents(out, fit);
  AppendLowestLoss(out, fit);
  AppendRetrieval(out, eval);
  return out;
}

}  // namespace flopwise::fitting
