// Training checkpoints (docs/checkpoints.md): RUN_DIR/step-00001234/ holding
// model.safetensors (docs/model-contract.md §12), optimizer.safetensors (AdamW
// moments "adam_m.<name>", "adam_v.<name>") and state.json (step, tokens,
// data position, RNG state). Written under a temporary name and renamed, so a
// directory named step-* is always complete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/file_lock.h"
#include "models/model.h"
#include "models/rng.h"

namespace flopwise::train {

struct TrainState {
  int64_t step = 0;    // optimizer steps done
  int64_t tokens = 0;  // tokens trained on
  double loss = 0.0;   // loss of the last step
  uint64_t data_position = 0;
  models::Rng::State rng_state{};
  // The precision of the steps that wrote it ("fp32" or "bf16"); the tensors
  // are fp32 either way, so any precision may resume from it.
  std::string precision = "fp32";
};

struct WrittenCheckpoint {
  std::string path;          // RUN_DIR/step-XXXXXXXX
  std::string model_sha256;  // hex digest of model.safetensors
};

// Writes the checkpoint of `state` under `run_dir` (created if needed).
absl::StatusOr<WrittenCheckpoint> WriteCheckpoint(const std::string& run_dir, models::Model& model,
                                                  const TrainState& state);

// The newest complete checkpoint directory in `run_dir`, or nullopt if none
// (a missing run_dir has none); with `at_most`, the newest whose step is at
// most that.
std::optional<std::string> FindLatestCheckpoint(const std::string& run_dir,
                                                std::optional<int64_t> at_most = std::nullopt);

// The one writer of `run_dir` (created if missing): a FileLock on
// RUN_DIR/trainer.lock. A trainer of the run's previous attempt may still be
// stopping there (writing its stop checkpoint after its lease ended); this
// waits up to `wait` for it to exit, then fails with FailedPrecondition naming
// the folder and the holder's pid.
absl::StatusOr<FileLock> LockRunDir(const std::string& run_dir, absl::Duration wait);

// Deletes all but the `keep` newest complete checkpoint directories of
// `run_dir` (keep >= 1), oldest first. Directories still being written
// (not named step-*) are never touched.
absl::Status PruneCheckpoints(const std::string& run_dir, int keep);

// Loads weights, AdamW moments and state from checkpoint `dir` into a model
// built with the same config. InvalidArgument names the file and the problem
// (missing or truncated file, other architecture or config, shape mismatch).
absl::Status LoadCheckpoint(const std::string& dir, models::Model* model, TrainState* state);

// Hex SHA-256 of a file's bytes.
absl::StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace flopwise::train
