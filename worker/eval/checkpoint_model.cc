#include "worker/eval/checkpoint_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "worker/train/model_io.h"
#include "worker/train/safetensors.h"

namespace flopwise::eval {

absl::StatusOr<std::unique_ptr<CheckpointModel>> CheckpointModel::Load(
    const std::string& weights_path, int context, int batch, int threads) {
  if (context <= 0) return absl::InvalidArgumentError("context: must be positive");
  if (batch <= 0) return absl::InvalidArgumentError("batch: must be positive");
  auto file = train::SafetensorsFile::Read(weights_path);
  if (!file.ok()) return file.status();
  auto config = train::ConfigFromMetadata(*file, context);
  if (!config.ok()) return config.status();
  std::unique_ptr<kernels::Backend> backend = kernels::MakeCpuBackend(threads);
  auto model = models::Model::Create(*config, batch, backend.get());
  if (!model.ok()) return model.status();
  if (absl::Status s = train::ReadArena(*file, "", train::Arena::kParams, model->get()); !s.ok()) {
    return s;
  }
  return std::unique_ptr<CheckpointModel>(
      new CheckpointModel(std::move(backend), *std::move(model)));
}

absl::StatusOr<std::vector<double>> CheckpointModel::Loglikelihoods(
    std::span<const LoglikelihoodRequest> requests) {
  const int n = context();
  const int64_t row_ids = int64_t{n} + 1;
  std::vector<double> result;
  result.reserve(requests.size());
  std::vector<int32_t> windows;
  std::vector<float> losses;
  for (size_t first = 0; first < requests.size(); first += batch()) {
    const size_t count = std::min<size_t>(batch(), requests.size() - first);
    windows.assign(count * row_ids, 0);
    std::vector<int64_t> used(count);  // ids of each row actually filled
    for (size_t r = 0; r < count; ++r) {
      const LoglikelihoodRequest& q = requests[first + r];
      if (q.context.empty() || q.continuation.empty()) {
        return absl::InvalidArgumentError(
            "a log-likelihood request needs a context and a continuation");
      }
      if (static_cast<int64_t>(q.continuation.size()) > n) {
        return absl::InvalidArgumentError(absl::StrCat("a continuation of ", q.continuation.size(),
                                                       " tokens does not fit a window of ", n));
      }
      std::vector<int32_t> ids = q.context;
      ids.insert(ids.end(), q.continuation.begin(), q.continuation.end());
      const int64_t keep = std::min<int64_t>(ids.size(), row_ids);
      std::copy(ids.end() - keep, ids.end(), windows.begin() + r * row_ids);
      used[r] = keep;
    }
    if (absl::Status s = WindowLosses(windows, &losses); !s.ok()) return s;
    for (size_t r = 0; r < count; ++r) {
      // Target t of the row predicts id t + 1; the continuation is the row's
      // last c filled ids, predicted by targets used - c - 1 … used - 2.
      const int64_t c = requests[first + r].continuation.size();
      double sum = 0.0;
      for (int64_t t = used[r] - c - 1; t <= used[r] - 2; ++t) sum -= losses[r * n + t];
      result.push_back(sum);
    }
  }
  return result;
}

}  // namespace flopwise::eval
