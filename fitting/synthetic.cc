#include "fitting/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_format.h"

namespace flopwise::fitting {

std::vector<PaperLaws> PublishedPaperLaws() {
  return {{"llama", 3.7087, -0.0798, 1.82e8, 0.7118, 2.56e10, 0.5102},
          {"tnl", 3.5391, -0.0768, 2.74e8, 0.6470, 4.43e10, 0.4684},
          {"hgrn2", 3.4788, -0.0753, 2.66e8, 0.6427, 4.80e10, 0.4500},
          {"cos2", 3.5877, -0.0756, 2.65e8, 0.6516, 4.23e10, 0.4529}};
}

std::vector<CheckpointRecord> PaperLawRecords(const PaperLaws& laws,
                                              const PaperCurveOptions& options) {
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> noise(0, options.loss_noise);
  const double c = 0.9 * std::abs(laws.loss_exp);
  const double w = options.curvature_width;
  const double span = options.span_decades * std::log(10.0);
  std::vector<CheckpointRecord> records;
  for (int i = 0; i < options.model_sizes; ++i) {
    const double t = options.model_sizes > 1 ? double(i) / (options.model_sizes - 1) : 0;
    const double log_ci =
        std::log(options.compute_lo_pfdays) +
        t * (std::log(options.compute_hi_pfdays) - std::log(options.compute_lo_pfdays));
    const double ci = std::exp(log_ci);
    const double n_params = laws.nopt_coef * std::pow(ci, laws.nopt_exp);
    const double tokens_per_pfday = laws.dopt_coef * std::pow(ci, laws.dopt_exp) / ci;
    const std::string run = absl::StrFormat("%s-n%.3g", laws.arch, n_params);
    for (int k = 0; k < options.checkpoints_per_run; ++k) {
      const double u_lo = std::max(-span, std::log(options.compute_lo_pfdays) - log_ci);
      const double u_hi = std::min(span, std::log(options.compute_hi_pfdays) - log_ci);
      const double u = u_lo + (u_hi - u_lo) * k / (options.checkpoints_per_run - 1);
      const double compute = std::exp(log_ci + u);
      const double g = u < 0 ? c * u * u / (2 * w) : c * (u - w * (1 - std::exp(-u / w)));
      const double log_loss =
          std::log(laws.loss_coef) + laws.loss_exp * std::log(compute) + g + noise(rng);
      records.push_back({.arch = laws.arch,
                         .run = run,
                         .n_params = n_params,
                         .n_params_total = 0,
                         .tokens = tokens_per_pfday * compute,
                         .flops = compute * kFlopsPerPfDay,
                         .loss = std::exp(log_loss)});
    }
  }
  return records;
}

std::vector<CheckpointRecord> ChinchillaRecords(const ChinchillaLaw& law,
                                                const ChinchillaCurveOptions& options) {
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> noise(0, options.loss_noise);
  std::vector<CheckpointRecord> records;
  for (double n : options.model_sizes) {
    const std::string run = absl::StrFormat("%s-n%.3g", options.arch, n);
    for (int k = 0; k < options.checkpoints_per_run; ++k) {
      const double t = double(k) / (options.checkpoints_per_run - 1);
      const double d = std::exp(std::log(options.tokens_lo) +
                                t * (std::log(options.tokens_hi) - std::log(options.tokens_lo)));
      const double loss = law.e + law.a * std::pow(n, -law.alpha) + law.b * std::pow(d, -law.beta);
      records.push_back({.arch = options.arch,
                         .run = run,
                         .n_params = n,
                         .n_params_total = 0,
                         .tokens = d,
                         .flops = 6 * n * d,
                         .loss = loss * std::exp(noise(rng))});
    }
  }
  return records;
}

}  // namespace flopwise::fitting
