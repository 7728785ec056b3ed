// Hand-made checkpoint evaluations for the report's tests: two architectures,
// two runs each; validation at two checkpoints, needle and brown-continuation
// at the last; heatmaps for every run's last checkpoint.
#pragma once

#include <string>

#include "fitting/evaluation_rows.h"

namespace flopwise::fitting {

// `needle` is the weighted accuracy of every run's needle modes (chance 0.5);
// llama's largest run gets `llama_needle` instead.
inline StudyEvaluation HandMadeEvaluation(double needle, double llama_needle) {
  StudyEvaluation eval;
  struct Run {
    const char* arch;
    const char* run;
    double n_params, loss;
  };
  const Run runs[] = {{"llama", "small", 3e4, 1.9},
                      {"llama", "large", 2.4e5, 1.6},
                      {"hgrn2", "small", 3e4, 1.8},
                      {"hgrn2", "large", 2.4e5, 1.5}};
  for (const Run& r : runs) {
    auto add = [&](int64_t step, const std::string& task, const std::string& metric, double v) {
      eval.rows.push_back({r.arch, r.run, r.n_params, step, step * 2048.0,
                           step * 2048.0 * 6 * r.n_params, task, metric, v});
    };
    add(100, "validation", "loss", r.loss + 0.5);
    add(100, "validation", "bits_per_byte", (r.loss + 0.5) / 0.6931);
    add(200, "validation", "loss", r.loss);
    add(200, "validation", "bits_per_byte", r.loss / 0.6931);
    add(200, "validation", "perplexity", 5.0);
    const double w =
        std::string(r.arch) == "llama" && std::string(r.run) == "large" ? llama_needle : needle;
    add(200, "needle-easy", "weighted_average_accuracy", w);
    add(200, "needle-easy", "niah_score", 0.05);
    add(200, "needle-standard", "weighted_average_accuracy", w);
    add(200, "needle-standard", "niah_score", 0.05);
    add(200, "brown-continuation", "acc", 0.41);
    add(200, "brown-continuation", "acc_norm", 0.27);
    for (const char* mode : {"needle-easy", "needle-standard"}) {
      eval.heatmaps.push_back(
          {r.arch, r.run, 200, mode, std::string("eval/") + r.arch + "-" + r.run + "-" + mode});
    }
  }
  return eval;
}

}  // namespace flopwise::fitting
