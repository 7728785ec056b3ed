// A stand-in language model for the task tests: it decodes each request with
// the byte tokenizer and asks `is_right(context, continuation)`; a right
// continuation gets log-likelihood 0 and a wrong one -5 per token, or the
// reverse when the stand-in is told to answer wrongly.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "worker/data/tokenizer.h"
#include "worker/eval/language_model.h"

namespace flopwise::eval {

class StandInModel final : public LanguageModel {
 public:
  using Judge = std::function<bool(const std::string& context, const std::string& continuation)>;
  StandInModel(const data::Tokenizer* tokenizer, Judge is_right, bool answers_right)
      : tokenizer_(tokenizer), is_right_(std::move(is_right)), answers_right_(answers_right) {}

  absl::StatusOr<std::vector<double>> Loglikelihoods(
      std::span<const LoglikelihoodRequest> requests) override {
    std::vector<double> out;
    for (const LoglikelihoodRequest& r : requests) {
      std::string context, continuation;
      std::vector<int32_t> text_ids;
      for (int32_t id : r.context) {
        if (id != tokenizer_->eot_id()) text_ids.push_back(id);
      }
      if (absl::Status s = tokenizer_->Decode(text_ids, &context); !s.ok()) return s;
      if (absl::Status s = tokenizer_->Decode(r.continuation, &continuation); !s.ok()) return s;
      const bool preferred = is_right_(context, continuation) == answers_right_;
      out.push_back(preferred ? 0.0 : -5.0 * static_cast<double>(r.continuation.size()));
    }
    ++calls;
    return out;
  }

  int calls = 0;

 private:
  const data::Tokenizer* tokenizer_;
  Judge is_right_;
  bool answers_right_;
};

}  // namespace flopwise::eval
