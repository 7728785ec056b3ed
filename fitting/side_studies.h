// The paper's two side studies (Shen et al. 2024, Tables 5 and 6): loss
// against context length, and loss against aspect ratio (d_model / layers)
// at a fixed model size, per architecture. Found in any set of records whose
// runs carry their settings (RunSettings); pure computation and rendering.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

// Runs whose N lie within this fraction of the smallest of them count as one
// model size in the aspect-ratio study (the paper's four 1B shapes lie within 4%).
inline constexpr double kFixedSizeTolerance = 0.1;

// One architecture at one size: a loss per column of its study.
struct SideStudyRow {
  std::string arch;
  double n_params = 0;  // the smallest N of the row's runs
  // The most tokens every run of the row reached: each loss is read there
  // (interpolated linearly in log tokens between checkpoints), so that the
  // columns compare runs at equal data.
  double tokens = 0;
  std::vector<double> loss;       // per column; NaN where the row has no run
  std::vector<std::string> runs;  // per column; "" where none
};

struct SideStudy {
  // Context: "2048", ...; aspect ratio: "d_model/layers" ("1536/32"), by d_model.
  std::vector<std::string> columns;
  std::vector<SideStudyRow> rows;  // by arch, then N
};

struct SideStudies {
  LossMetric metric = LossMetric::kTrain;  // the loss read (resolved, never kAuto)
  // Runs of one architecture and shape (N, layers, d_model, vocabulary, model
  // flags) at two or more context lengths.
  std::optional<SideStudy> context;
  // Runs of one architecture, context, vocabulary and model flags whose N lie
  // within kFixedSizeTolerance, in two or more shapes (layers and d_model known).
  std::optional<SideStudy> aspect_ratio;
};

// The side studies in `records` under `metric` (kAuto as ResolveLossMetric
// decides). Checkpoints without a positive, finite loss of that metric are
// skipped. Errors: ResolveLossMetric's.
absl::StatusOr<SideStudies> FindSideStudies(std::span<const CheckpointRecord> records,
                                            LossMetric metric);

// Markdown sections "Loss against context length" and "Loss against aspect
// ratio at fixed size" (the lowest loss of each row in bold); empty when
// `studies` has neither.
std::string SideStudiesMarkdown(const SideStudies& studies);

}  // namespace flopwise::fitting
