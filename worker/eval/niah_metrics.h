// The four Needle-in-a-Haystack metrics of Shen et al. (2024), Appendix B.1,
// as pure functions of a grid of cell scores (docs/evaluation.md, "needle").
// A grid has one column per context length (ascending) and one row per needle
// depth (ascending); a cell holds a score on the paper's 0–10 scale and its
// accuracy is score / 10.
#pragma once

#include <vector>

namespace flopwise::eval {

struct NiahGrid {
  std::vector<int> lengths;                 // context lengths in tokens, ascending
  std::vector<double> depths;               // needle depths in [0, 1], ascending
  std::vector<std::vector<double>> scores;  // [length][depth], each in [0, 10]
};

// Mean accuracy over the depths of column `length_index`.
double AccuracyAtLength(const NiahGrid& grid, int length_index);

// Mean accuracy over every cell whose length is <= max_length (0 when none).
double AccuracyUpToLength(const NiahGrid& grid, int max_length);

// Σ W·acc / Σ W with W[j][i] = α_c^j · α_d^i (the paper's w0 cancels):
// longer contexts (α_c > 1) and deeper needles (α_d > 1) count more.
double WeightedAverageAccuracy(const NiahGrid& grid, double alpha_length, double alpha_depth);

// The penalty of one column of binarised cells (depth order): 0 without a
// success, 1 when every cell succeeds, otherwise 2^((1 - n) / 2) for the n
// maximal segments of equal cells (successes and failures alternate).
double SegmentPenalty(const std::vector<bool>& successes);

// Length of the longest run of consecutive successes.
int LongestSuccessRun(const std::vector<bool>& successes);

// NIAH score in [0, 1]: each cell succeeds when its score >= threshold; column
// j contributes (longest success run / depths) · SegmentPenalty, and the
// columns are averaged with the length weights α_c^j.
double NiahScore(const NiahGrid& grid, double threshold, double alpha_length);

}  // namespace flopwise::eval
