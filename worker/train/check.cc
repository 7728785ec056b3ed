#include "worker/train/check.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/model.h"
#include "worker/train/device.h"
#include "worker/train/model_io.h"
#include "worker/train/safetensors.h"

namespace flopwise::train {
namespace {

absl::StatusOr<std::vector<int32_t>> ReadTokens(const std::string& path, int64_t count, int vocab) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--tokens: ", path, ": no such file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  if (static_cast<int64_t>(bytes.size()) != count * 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tokens: ", path, " holds ", bytes.size(),
                     " bytes, expected batch × (context + 1) × 4 = ", count * 4));
  }
  std::vector<int32_t> ids(count);
  for (int64_t i = 0; i < count; ++i) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + 4 * i, 4);
    if (v >= static_cast<uint32_t>(vocab)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tokens: id ", v, " at index ", i, " is outside the vocabulary [0, ", vocab, ")"));
    }
    ids[i] = static_cast<int32_t>(v);
  }
  return ids;
}

absl::StatusOr<double> FiniteLoss(double loss) {
  if (std::isfinite(loss)) return loss;
  return absl::InvalidArgumentError(
      absl::StrCat("loss is ", std::isnan(loss) ? "NaN" : "infinite",
                   ": the forward pass overflows on these tokens (every weight is finite)"));
}

}  // namespace

absl::StatusOr<double> RunCheck(const CheckOptions& o) {
  if (o.batch <= 0) return absl::InvalidArgumentError("--batch: must be positive");
  if (o.context <= 0) return absl::InvalidArgumentError("--context: must be positive");
  if (absl::Status s = ValidatePrecision(o.precision, o.device); !s.ok()) return s;
  auto file = SafetensorsFile::Read(o.weights);
  if (!file.ok()) return file.status();
  auto config = ConfigFromMetadata(*file, o.context);
  if (!config.ok()) return config.status();
  const int b = o.batch, n = o.context;
  auto ids = ReadTokens(o.tokens, int64_t{b} * (n + 1), config->vocab);
  if (!ids.ok()) return ids.status();
  std::vector<int32_t> inputs(int64_t{b} * n), targets(int64_t{b} * n);
  for (int row = 0; row < b; ++row) {
    const int32_t* src = ids->data() + int64_t{row} * (n + 1);
    std::copy(src, src + n, inputs.begin() + int64_t{row} * n);
    std::copy(src + 1, src + n + 1, targets.begin() + int64_t{row} * n);
  }
  auto backend = MakeDeviceBackend(o.device, o.precision, o.threads);
  if (!backend.ok()) return backend.status();
  auto model = models::Model::Create(*config, b, backend->get());
  if (!model.ok()) return model.status();
  if (absl::Status s = ReadArena(*file, "", Arena::kParams, model->get()); !s.ok()) return s;
  if (o.grads.empty()) return FiniteLoss((*model)->Forward(inputs.data(), targets.data()));
  (*model)->ZeroGrads();
  const double loss = (*model)->ForwardBackward(inputs.data(), targets.data(), 1.0f / (b * n));
  if (absl::Status s = FiniteLoss(loss).status(); !s.ok()) return s;
  if (absl::Status s = WriteArenas(**model, {{Arena::kGrads, ""}}, o.grads); !s.ok()) return s;
  return loss;
}

}  // namespace flopwise::train
