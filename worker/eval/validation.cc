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

namespace {

// The manifest of a dataset folder written by `flopwise data prepare`;
// nullopt for anything else (a split folder, a shard, a raw token file).
absl::StatusOr<std::optional<nlohmann::json>> DatasetManifest(const fs::path& dir) {
  const fs::path manifest = dir / "manifest.json";
  if (!fs::is_directory(dir) || !fs::exists(manifest)) return std::nullopt;
  std::ifstream in(manifest);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(manifest.string(), ": not JSON"));
  }
  if (!j.is_object() || j.value("format", "") != "flopwise-dataset") return std::nullopt;
  return j;
}

// The validation split's folder named by a dataset manifest, if any.
std::optional<fs::path> ValidationFolder(const fs::path& dataset, const nlohmann::json& manifest) {
  const auto splits = manifest.find("splits");
  if (splits == manifest.end() || !splits->is_object()) return std::nullopt;
  const auto validation = splits->find("validation");
  if (validation == splits->end() || !validation->is_string()) return std::nullopt;
  return dataset / validation->get<std::string>();
}

}  // namespace

int64_t DefaultValidationTokens(int64_t training_tokens, int context) {
  const int64_t budget = std::min(kValidationTokenCap, training_tokens * 12 / 100);
  return std::max<int64_t>(budget / context, 1) * context;
}

int64_t CheckpointValidationTokens(int64_t total_tokens, int64_t checkpoint_every_tokens,
                                   int context) {
  const int64_t checkpoints =
      checkpoint_every_tokens > 0
          ? std::max<int64_t>(
                1, (total_tokens + checkpoint_every_tokens - 1) / checkpoint_every_tokens)
          : 1;
  return DefaultValidationTokens(total_tokens / checkpoints, context);
}

int64_t ValidationWindowCount(int64_t tokens, int context) {
  return std::max<int64_t>(1, (tokens + context - 1) / context);
}

absl::StatusOr<std::string> ValidationSplitPath(const std::string& data_path) {
  auto manifest = DatasetManifest(data_path);
  if (!manifest.ok()) return manifest.status();
  if (!manifest->has_value()) return data_path;
  const std::optional<fs::path> split = ValidationFolder(data_path, **manifest);
  if (!split) {
    return absl::FailedPreconditionError(
        absl::StrCat(data_path,
                     ": the dataset has no validation split (prepare it with "
                     "--validation-fraction above 0)"));
  }
  return split->string();
}

absl::StatusOr<std::optional<std::string>> ValidationSplitBeside(const std::string& training_data) {
  fs::path data = fs::path(training_data).lexically_normal();
  if (!data.has_filename()) data = data.parent_path();  // "dataset/train/"
  // A dataset folder, or a split folder inside one.
  for (const fs::path& dataset : {data, (data / "..").lexically_normal()}) {
    auto manifest = DatasetManifest(dataset);
    if (!manifest.ok()) return manifest.status();
    if (!manifest->has_value()) continue;
    const std::optional<fs::path> split = ValidationFolder(dataset, **manifest);
    if (!split || split->lexically_normal() == data) return std::nullopt;
    return split->string();
  }
  return std::nullopt;
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

absl::StatusOr<ValidationResult> EvaluateValidation(WindowScorer* model,
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
