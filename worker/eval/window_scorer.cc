#include "worker/eval/window_scorer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace flopwise::eval {

WindowScorer::WindowScorer(models::Model* model)
    : model_(model), inputs_(model->batch_tokens()), targets_(model->batch_tokens()) {}

absl::Status WindowScorer::WindowLosses(std::span<const int32_t> windows,
                                        std::vector<float>* losses) {
  const int n = context();
  const int64_t row_ids = int64_t{n} + 1;
  const int64_t rows = static_cast<int64_t>(windows.size()) / row_ids;
  if (rows * row_ids != static_cast<int64_t>(windows.size()) || rows > batch()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "windows: ", windows.size(), " ids are not up to ", batch(), " rows of ", row_ids));
  }
  std::fill(inputs_.begin(), inputs_.end(), 0);
  std::fill(targets_.begin(), targets_.end(), 0);
  const int vocab = model_->config().vocab;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* src = windows.data() + r * row_ids;
    for (int64_t i = 0; i < row_ids; ++i) {
      if (src[i] < 0 || src[i] >= vocab) {
        return absl::InvalidArgumentError(absl::StrCat(
            "token id ", src[i], " in window ", r, " is outside the vocabulary [0, ", vocab, ")"));
      }
    }
    std::copy(src, src + n, inputs_.begin() + r * n);
    std::copy(src + 1, src + n + 1, targets_.begin() + r * n);
  }
  model_->Forward(inputs_.data(), targets_.data());
  forward_tokens_ += model_->batch_tokens();
  const std::vector<float>& all = model_->token_losses();
  losses->assign(all.begin(), all.begin() + rows * n);
  return absl::OkStatus();
}

}  // namespace flopwise::eval
