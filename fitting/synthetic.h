// Synthetic checkpoint records from known laws, for tests, benchmarks and
// demonstrations of the fits. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fitting/fit.h"

namespace flopwise::fitting {

// The paper's three laws for one architecture, C in PF-days.
struct PaperLaws {
  std::string arch;
  double loss_coef = 0, loss_exp = 0;  // L(C)
  double nopt_coef = 0, nopt_exp = 0;  // N_opt(C)
  double dopt_coef = 0, dopt_exp = 0;  // D_opt(C)
};

// The four fits of Shen et al. (2024), paper-notes.md.
std::vector<PaperLaws> PublishedPaperLaws();

struct PaperCurveOptions {
  int model_sizes = 10;
  int checkpoints_per_run = 24;
  double compute_lo_pfdays = 0.1;  // where the smallest model is compute-optimal
  double compute_hi_pfdays = 100;  // where the largest model is compute-optimal
  // Each run spans this many decades each side of its optimum, clipped to
  // [compute_lo, compute_hi] so that the envelope is everywhere attained near
  // a run's optimum (outside it a single run would flatten N_opt).
  double span_decades = 0.6;
  double curvature_width = 1.0;  // w of the curve shape, in ln C units
  double loss_noise = 0.005;     // multiplicative lognormal noise (sigma of ln loss)
  uint64_t seed = 1;
};

// Runs whose loss curves touch the envelope L(C) at the compute where their
// size is N_opt(C), with tokens there equal to D_opt(C). With C = compute in
// PF-days and u = ln(C / C_i) for run i:
//   ln loss = ln L(C) + g(u),  g(u) = c u^2 / (2w) for u < 0,
//   g(u) = c (u - w (1 - e^(-u/w))) for u >= 0, c = 0.9 |loss_exp|,
// so every curve decreases, lies above the envelope and touches it once.
// Records carry flops in FLOPs, tokens proportional to compute within a run.
std::vector<CheckpointRecord> PaperLawRecords(const PaperLaws& laws,
                                              const PaperCurveOptions& options);

// Chinchilla's published L(N,D) (Hoffmann et al. 2022): E=1.69, A=406.4,
// B=410.7, alpha=0.34, beta=0.28.
struct ChinchillaLaw {
  double e = 1.69, a = 406.4, b = 410.7, alpha = 0.34, beta = 0.28;
};

struct ChinchillaCurveOptions {
  std::string arch = "llama";
  std::vector<double> model_sizes = {2e7, 5e7, 1e8, 2e8, 5e8, 1e9, 2e9};
  double tokens_lo = 1e8, tokens_hi = 1e11;  // checkpoints log-spaced in between
  int checkpoints_per_run = 16;
  double loss_noise = 0.005;  // multiplicative lognormal noise
  uint64_t seed = 1;
};

// One run per model size, constant-LR-style curves L(N, D) with C = 6ND.
std::vector<CheckpointRecord> ChinchillaRecords(const ChinchillaLaw& law,
                                                const ChinchillaCurveOptions& options);

}  // namespace flopwise::fitting
