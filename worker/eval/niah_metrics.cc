#include "worker/eval/niah_metrics.h"

#include <algorithm>
#include <cmath>

namespace flopwise::eval {
namespace {

double Accuracy(double score) { return score / 10.0; }

}  // namespace

double AccuracyAtLength(const NiahGrid& grid, int length_index) {
  const std::vector<double>& column = grid.scores[length_index];
  if (column.empty()) return 0.0;
  double sum = 0.0;
  for (double score : column) sum += Accuracy(score);
  return sum / column.size();
}

double AccuracyUpToLength(const NiahGrid& grid, int max_length) {
  double sum = 0.0;
  int cells = 0;
  for (size_t j = 0; j < grid.lengths.size(); ++j) {
    if (grid.lengths[j] > max_length) continue;
    for (double score : grid.scores[j]) {
      sum += Accuracy(score);
      ++cells;
    }
  }
  return cells == 0 ? 0.0 : sum / cells;
}

double WeightedAverageAccuracy(const NiahGrid& grid, double alpha_length, double alpha_depth) {
  double weighted = 0.0, total = 0.0;
  for (size_t j = 0; j < grid.scores.size(); ++j) {
    const double w_length = std::pow(alpha_length, static_cast<double>(j));
    for (size_t i = 0; i < grid.scores[j].size(); ++i) {
      const double w = w_length * std::pow(alpha_depth, static_cast<double>(i));
      weighted += w * Accuracy(grid.scores[j][i]);
      total += w;
    }
  }
  return total == 0.0 ? 0.0 : weighted / total;
}

double SegmentPenalty(const std::vector<bool>& successes) {
  const auto hits = std::count(successes.begin(), successes.end(), true);
  if (hits == 0) return 0.0;
  if (hits == static_cast<long>(successes.size())) return 1.0;
  int segments = 1;
  for (size_t i = 1; i < successes.size(); ++i) segments += successes[i] != successes[i - 1];
  return std::pow(2.0, (1.0 - segments) / 2.0);
}

int LongestSuccessRun(const std::vector<bool>& successes) {
  int longest = 0, run = 0;
  for (bool success : successes) {
    run = success ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

double NiahScore(const NiahGrid& grid, double threshold, double alpha_length) {
  double weighted = 0.0, total = 0.0;
  for (size_t j = 0; j < grid.scores.size(); ++j) {
    const std::vector<double>& column = grid.scores[j];
    std::vector<bool> successes(column.size());
    for (size_t i = 0; i < column.size(); ++i) successes[i] = column[i] >= threshold;
    const double w = std::pow(alpha_length, static_cast<double>(j));
    const double run_fraction =
        column.empty() ? 0.0 : static_cast<double>(LongestSuccessRun(successes)) / column.size();
    weighted += w * run_fraction * SegmentPenalty(successes);
    total += w;
  }
  return total == 0.0 ? 0.0 : weighted / total;
}

}  // namespace flopwise::eval
