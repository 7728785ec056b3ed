#include "worker/eval/needle.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "models/rng.h"

namespace flopwise::eval {
namespace {

constexpr char kQuestion[] = "Question: What is the special magic number? Answer:";

std::string NeedleText(NeedleMode mode, const std::string& answer) {
  if (mode == NeedleMode::kEasy) return absl::StrCat(kQuestion, " ", answer, ".\n");
  return absl::StrCat("The special magic number is ", answer, ".\n");
}

std::string RandomNumber(models::Rng* rng) { return std::to_string(1000 + rng->NextU64() % 9000); }

absl::StatusOr<std::vector<int32_t>> Encode(const data::Tokenizer& tokenizer,
                                            const std::string& text) {
  std::vector<int32_t> ids;
  if (absl::Status s = tokenizer.Encode(text, data::SpecialTokens::kAsText, &ids); !s.ok()) {
    return s;
  }
  return ids;
}

// The largest b <= at such that a sentence starts at slice[b]: b = 0 or the
// token before ends a line.
absl::StatusOr<int64_t> SentenceStartAtOrBefore(std::span<const int32_t> slice, int64_t at,
                                                const data::Tokenizer& tokenizer) {
  std::string piece;
  for (int64_t b = at; b > 0; --b) {
    piece.clear();
    if (absl::Status s = tokenizer.Decode(slice.subspan(b - 1, 1), &piece); !s.ok()) return s;
    if (!piece.empty() && piece.back() == '\n') return b;
  }
  return 0;
}

}  // namespace

std::string NeedleModeName(NeedleMode mode) {
  return mode == NeedleMode::kEasy ? "easy" : "standard";
}

absl::StatusOr<int> NeedleOverheadTokens(NeedleMode mode, const data::Tokenizer& tokenizer) {
  const std::string answer = "1234";
  auto ids =
      Encode(tokenizer, absl::StrCat(NeedleText(mode, answer), "\n", kQuestion, " ", answer));
  if (!ids.ok()) return ids.status();
  return static_cast<int>(ids->size());
}

NeedleOptions DefaultNeedleOptions(int context, int overhead_tokens) {
  NeedleOptions o;
  for (int quarter = 1; quarter <= 4; ++quarter) {
    const int length = context * quarter / 4;
    if (length > 2 * overhead_tokens) o.lengths.push_back(length);
  }
  if (o.lengths.empty()) o.lengths = {context};
  o.depths = {0.0, 0.25, 0.5, 0.75, 1.0};
  return o;
}

absl::StatusOr<std::vector<NeedleCase>> BuildNeedleCases(NeedleMode mode,
                                                         std::span<const int32_t> haystack,
                                                         const data::Tokenizer& tokenizer,
                                                         const NeedleOptions& o, int length_index,
                                                         int depth_index) {
  const int length = o.lengths[length_index];
  const double depth = o.depths[depth_index];
  // One stream per cell, so a cell's cases do not depend on the rest of the grid.
  models::Rng rng(o.seed * 1000003 + static_cast<uint64_t>(mode) * 7919 +
                  static_cast<uint64_t>(length_index) * 131 + static_cast<uint64_t>(depth_index));
  auto question = Encode(tokenizer, absl::StrCat("\n", kQuestion));
  if (!question.ok()) return question.status();
  std::vector<NeedleCase> cases;
  for (int trial = 0; trial < o.trials; ++trial) {
    NeedleCase c;
    c.length = length;
    c.depth = depth;
    c.answer = RandomNumber(&rng);
    std::set<std::string> others;
    while (static_cast<int>(others.size()) < kNeedleDistractors) {
      const std::string other = RandomNumber(&rng);
      if (other != c.answer) others.insert(other);
    }
    auto needle = Encode(tokenizer, NeedleText(mode, c.answer));
    auto answer = Encode(tokenizer, " " + c.answer);
    if (!needle.ok()) return needle.status();
    if (!answer.ok()) return answer.status();
    // length + 1 ids in all: end-of-text, haystack, needle, question, answer.
    const int64_t budget =
        int64_t{length} - static_cast<int64_t>(needle->size() + question->size() + answer->size());
    if (budget < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("needle length ", length, " cannot hold the needle and question (",
                       needle->size() + question->size() + answer->size(), " tokens)"));
    }
    if (static_cast<int64_t>(haystack.size()) < budget) {
      return absl::InvalidArgumentError(absl::StrCat("the haystack holds ", haystack.size(),
                                                     " tokens, fewer than the ", budget,
                                                     " a length of ", length, " needs"));
    }
    const int64_t start = static_cast<int64_t>(rng.NextU64() % (haystack.size() - budget + 1));
    std::span<const int32_t> slice = haystack.subspan(start, budget);
    auto at = SentenceStartAtOrBefore(slice, std::llround(depth * budget), tokenizer);
    if (!at.ok()) return at.status();
    std::vector<int32_t>& ids = c.request.context;
    ids.push_back(tokenizer.eot_id());
    ids.insert(ids.end(), slice.begin(), slice.begin() + *at);
    ids.insert(ids.end(), needle->begin(), needle->end());
    ids.insert(ids.end(), slice.begin() + *at, slice.end());
    ids.insert(ids.end(), question->begin(), question->end());
    c.request.continuation = *std::move(answer);
    for (const std::string& other : others) {
      auto other_ids = Encode(tokenizer, " " + other);
      if (!other_ids.ok()) return other_ids.status();
      c.distractors.push_back(*std::move(other_ids));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

absl::StatusOr<std::vector<double>> ScoreNeedleCases(std::span<const NeedleCase> cases,
                                                     LanguageModel* model) {
  std::vector<LoglikelihoodRequest> requests;
  for (const NeedleCase& c : cases) {
    requests.push_back(c.request);
    for (const std::vector<int32_t>& other : c.distractors) {
      requests.push_back({c.request.context, other});
    }
  }
  auto loglikelihoods = model->Loglikelihoods(requests);
  if (!loglikelihoods.ok()) return loglikelihoods.status();
  std::vector<double> scores;
  size_t at = 0;
  for (const NeedleCase& c : cases) {
    const double answer = (*loglikelihoods)[at];
    const auto first = loglikelihoods->begin() + at + 1;
    const auto last = first + c.distractors.size();
    scores.push_back(static_cast<double>(
        std::count_if(first, last, [answer](double other) { return other < answer; })));
    at += 1 + c.distractors.size();
  }
  return scores;
}

absl::StatusOr<NeedleResult> RunNeedle(NeedleMode mode, std::span<const int32_t> haystack,
                                       const data::Tokenizer& tokenizer, const NeedleOptions& o,
                                       LanguageModel* model) {
  if (o.lengths.empty() || o.depths.empty() || o.trials <= 0) {
    return absl::InvalidArgumentError("needle: needs lengths, depths and trials > 0");
  }
  if (!std::is_sorted(o.lengths.begin(), o.lengths.end()) ||
      !std::is_sorted(o.depths.begin(), o.depths.end())) {
    return absl::InvalidArgumentError("needle: lengths and depths must be ascending");
  }
  NeedleResult result;
  result.mode = mode;
  result.grid.lengths = o.lengths;
  result.grid.depths = o.depths;
  for (size_t j = 0; j < o.lengths.size(); ++j) {
    // A column's cases are scored together: depth-major, trials inside.
    std::vector<NeedleCase> column_cases;
    for (size_t i = 0; i < o.depths.size(); ++i) {
      auto cases =
          BuildNeedleCases(mode, haystack, tokenizer, o, static_cast<int>(j), static_cast<int>(i));
      if (!cases.ok()) return cases.status();
      std::move(cases->begin(), cases->end(), std::back_inserter(column_cases));
    }
    auto scores = ScoreNeedleCases(column_cases, model);
    if (!scores.ok()) return scores.status();
    std::vector<double> column(o.depths.size(), 0.0);
    for (size_t k = 0; k < scores->size(); ++k) column[k / o.trials] += (*scores)[k] / o.trials;
    result.cases += static_cast<int64_t>(scores->size());
    result.grid.scores.push_back(std::move(column));
  }
  for (size_t j = 0; j < o.lengths.size(); ++j) {
    result.accuracy_at_length.push_back(AccuracyAtLength(result.grid, static_cast<int>(j)));
    result.accuracy_up_to_length.push_back(AccuracyUpToLength(result.grid, o.lengths[j]));
  }
  result.weighted_average_accuracy =
      WeightedAverageAccuracy(result.grid, o.alpha_length, o.alpha_depth);
  result.niah_score = NiahScore(result.grid, o.threshold, o.alpha_length);
  return result;
}

}  // namespace flopwise::eval
