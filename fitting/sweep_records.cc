#include "fitting/sweep_records.h"

#include <cmath>
#include <utility>

namespace flopwise::fitting {
namespace {

bool PositiveFinite(double v) { return v > 0 && std::isfinite(v); }

}  // namespace

std::optional<CheckpointRecord> RecordFromCheckpoint(SweepCheckpoint checkpoint) {
  const double tokens = static_cast<double>(checkpoint.tokens);
  if (!PositiveFinite(tokens) || !PositiveFinite(checkpoint.flops) ||
      !PositiveFinite(checkpoint.loss)) {
    return std::nullopt;
  }
  CheckpointRecord record;
  record.arch = std::move(checkpoint.arch);
  record.run = std::move(checkpoint.run);
  record.n_params = static_cast<double>(checkpoint.params_non_embedding);
  record.tokens = tokens;
  record.flops = checkpoint.flops;
  record.loss = checkpoint.loss;
  record.validation_loss = checkpoint.validation_loss;
  return record;
}

}  // namespace flopwise::fitting
