#include "worker/train/checkpoint_validation.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace flopwise::train {
namespace {

void Warn(const std::string& message) {
  std::fprintf(stderr, "flopwise-train: warning: %s\n", message.c_str());
}

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointValidation>> CheckpointValidation::Open(
    const TrainOptions& o, int64_t total_tokens, models::Model* model) {
  if (!o.validate) return nullptr;
  std::string path = o.validation_data;
  std::string flag = "--validation-data";
  if (path.empty()) {
    auto beside = eval::ValidationSplitBeside(o.data);
    if (!beside.ok())
      return absl::Status(beside.status().code(),
                          absl::StrCat("--data: ", beside.status().message()));
    if (!beside->has_value()) {
      Warn(absl::StrCat("no validation split beside --data ", o.data,
                        ": checkpoints carry no validation loss (prepare the data with "
                        "--validation-fraction above 0, or give --validation-data)"));
      return nullptr;
    }
    path = **beside;
    flag = "--data";
  }
  const int context = model->config().context;
  const int64_t tokens =
      o.validation_tokens > 0
          ? o.validation_tokens
          : eval::CheckpointValidationTokens(total_tokens, o.checkpoint_every_tokens, context);
  auto windows = eval::ReadValidationWindows(path, context, kCheckpointValidationSeed,
                                             eval::ValidationWindowCount(tokens, context));
  if (!windows.ok()) {
    return absl::Status(windows.status().code(), absl::StrCat(flag, ": validation data ", path,
                                                              ": ", windows.status().message()));
  }
  const int vocab = model->config().vocab;
  for (const int32_t id : windows->ids) {
    if (id < 0 || id >= vocab) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": validation data ", path, ": token id ", id,
                       " is outside the vocabulary [0, ", vocab, ") (another tokenizer?)"));
    }
  }
  std::unique_ptr<data::Tokenizer> tokenizer;
  if (!windows->tokenizer.empty()) {
    auto loaded = data::Tokenizer::Load(windows->tokenizer);
    if (loaded.ok()) {
      tokenizer = *std::move(loaded);
    } else {
      Warn(absl::StrCat("validation without bits per byte: ", loaded.status().message()));
    }
  }
  return std::unique_ptr<CheckpointValidation>(
      new CheckpointValidation(*std::move(windows), std::move(tokenizer), model));
}

absl::StatusOr<eval::ValidationResult> CheckpointValidation::Evaluate() {
  return eval::EvaluateValidation(&scorer_, windows_, tokenizer_.get());
}

}  // namespace flopwise::train
