#include "worker/eval/validation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "worker/data/token_stream.h"

namespace flopwise::eval {
namespace fs = std::filesystem;

int64_t DefaultValidationTokens(int64_t training_tokens, int context) {
  const int64_t budget = std::min(kValidationTokenCap, training_tokens * 15 / 100);
  return std::max<int64_t>(budget / context, 1) * context;
}

absl::StatusOr<std::string> ValidationSplitPath(const std::string& data_path) {
  const fs::path manifest = fs::path(data_path) / "manifest.json";
  if (!fs::is_directory(data_path) || !fs::exists(manifest)) return data_path;
  std::ifstream in(manifest);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(manifest.string(), ": not JSON"));
  }
  if (j.value("format", "") != "flopwise-dataset") return data_path;  // a split folder
  const auto splits = j.find("splits");
  if (splits == j.end() || !splits->is_object() || !splits->contains("validation")) {
    return absl::FailedPreconditionError(
        absl::StrCat(data_path,
                     ": the dataset has no validation split (prepare it with "
                     "--validation-fraction above 0)"));
  }
  return (fs::path(data_path) / (*splits)["validation"].get<std::string>()).string();
}

absl::StatusOr<ValidationWindows> ReadValidationWindows(const std::string& path, int context,
                                                        uint64_t seed, int64_t windows) {
  data::StreamOptions options;
  options.sequence_length = context;
  options.seed = seed;
  options.shuffle = true;
  auto stream = data::TokenStream::Open(path, options);
  if (!stream.ok()) return stream.status();
  ValidationWindows out;
  out.windows = std::min<int64_t>(windows, (*stream)->sequences_per_epoch());
  out.tokenizer = (*stream)->tokenizer_name();
  const int64_t row_ids = int64_t{context} + 1;
  out.ids.resize(out.windows * row_ids);
  for (int64_t w = 0; w < out.windows; ++w) {
    std::span<int32_t> row(out.ids.data() + w * row_ids, row_ids);
    if (absl::Status s = (*stream)->NextSequence(row); !s.ok()) return s;
  }
  return out;
}

absl::StatusOr<ValidationResult> EvaluateValidation(CheckpointModel* model,
                                                    const ValidationWindows& windows,
                                                    const data::Tokenizer* tokenizer) {
  const int n = model->context();
  const int64_t row_ids = int64_t{n} + 1;
  if (static_cast<int64_t>(windows.ids.size()) != windows.windows * row_ids) {
    return absl::InvalidArgumentError(
        absl::StrCat("validation windows were read for another context than ", n));
  }
  ValidationResult result;
  double loss_sum = 0.0;
  std::vector<float> losses;
  std::vector<int32_t> text_ids;
  std::string text;
  for (int64_t first = 0; first < windows.windows; first += model->batch()) {
    const int64_t rows = std::min<int64_t>(model->batch(), windows.windows - first);
    std::span<const int32_t> chunk(windows.ids.data() + first * row_ids, rows * row_ids);
    if (absl::Status s = model->WindowLosses(chunk, &losses); !s.ok()) return s;
    for (float loss : losses) loss_sum += loss;  // in order: the sum `check` takes
    if (tokenizer == nullptr) continue;
    for (int64_t r = 0; r < rows; ++r) {
      text_ids.clear();
      for (int64_t t = 1; t <= n; ++t) {
        const int32_t id = chunk[r * row_ids + t];
        if (id != tokenizer->eot_id()) text_ids.push_back(id);
      }
      text.clear();
      if (absl::Status s = tokenizer->Decode(text_ids, &text); !s.ok()) return s;
      result.bytes += static_cast<int64_t>(text.size());
    }
  }
  result.windows = windows.windows;
  result.tokens = windows.windows * n;
  result.loss_nats = result.tokens > 0 ? loss_sum / result.tokens : 0.0;
  result.perplexity = std::exp(result.loss_nats);
  if (tokenizer != nullptr && result.bytes > 0) {
    result.bits_per_byte = loss_sum / (std::log(2.0) * result.bytes);
  }
  return result;
}

}  // namespace flopwise::eval
