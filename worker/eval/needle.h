// Needle in a Haystack (docs/evaluation.md, "needle"), after Shen et al.
// (2024), Appendix B.1, scored without a judge model: a random 4-digit number
// is hidden in text from the run's own corpus, and the model's log-likelihood
// of the true number after the question is compared with that of
// kNeedleDistractors other numbers. A case's score, on the paper's 0–10 scale,
// is the number of distractors the true number beats.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/data/tokenizer.h"
#include "worker/eval/language_model.h"
#include "worker/eval/niah_metrics.h"

namespace flopwise::eval {

inline constexpr int kNeedleDistractors = 10;

// easy: the needle is the question with its answer, asked again at the end;
// standard: the needle states the fact, the question comes only at the end.
enum class NeedleMode { kEasy, kStandard };
std::string NeedleModeName(NeedleMode mode);  // "easy", "standard"

struct NeedleOptions {
  std::vector<int> lengths;    // context lengths in tokens, ascending (> 0)
  std::vector<double> depths;  // needle depths in [0, 1], ascending
  int trials = 1;              // cases per cell; the cell's score is their mean
  uint64_t seed = 1;
  double threshold = 10.0;    // a cell succeeds for the NIAH score at score >= threshold
  double alpha_length = 1.5;  // weight growth per length column
  double alpha_depth = 1.2;   // weight growth per depth row
};

// Tokens of a case besides the haystack: needle, question and answer.
absl::StatusOr<int> NeedleOverheadTokens(NeedleMode mode, const data::Tokenizer& tokenizer);

// The default grid: lengths context/4, context/2, 3·context/4, context, less
// those not above 2 × overhead_tokens (at least half of a case is haystack;
// `context` stays when all go); depths 0, 0.25, 0.5, 0.75, 1.
NeedleOptions DefaultNeedleOptions(int context, int overhead_tokens);

struct NeedleCase {
  int length = 0;  // context + continuation tokens = length + 1 ids, as a training window
  double depth = 0.0;
  LoglikelihoodRequest request;                   // the context and the true answer " NNNN"
  std::vector<std::vector<int32_t>> distractors;  // other answers' ids
  std::string answer;                             // the 4 digits
};

// The seeded cases of one grid cell: `haystack` (token ids of plain text,
// at least one window long) is cut at a random offset to fill the length, the
// needle goes at the sentence start nearest below depth × haystack length.
// InvalidArgument when a length cannot hold the needle and question.
absl::StatusOr<std::vector<NeedleCase>> BuildNeedleCases(NeedleMode mode,
                                                         std::span<const int32_t> haystack,
                                                         const data::Tokenizer& tokenizer,
                                                         const NeedleOptions& options,
                                                         int length_index, int depth_index);

// Each case's score, 0–10: how many of its distractors have a lower
// log-likelihood than its answer. One Loglikelihoods call for all cases, so
// the model fills its batches.
absl::StatusOr<std::vector<double>> ScoreNeedleCases(std::span<const NeedleCase> cases,
                                                     LanguageModel* model);

struct NeedleResult {
  NeedleMode mode = NeedleMode::kStandard;
  NiahGrid grid;
  std::vector<double> accuracy_at_length;     // per length
  std::vector<double> accuracy_up_to_length;  // per length
  double weighted_average_accuracy = 0.0;
  double niah_score = 0.0;
  int64_t cases = 0;
};

// Every cell of the grid, then the four metrics.
absl::StatusOr<NeedleResult> RunNeedle(NeedleMode mode, std::span<const int32_t> haystack,
                                       const data::Tokenizer& tokenizer,
                                       const NeedleOptions& options, LanguageModel* model);

}  // namespace flopwise::eval
