// The paper's figures from a fit: per architecture the Figure 1 layout
// (training curves with the envelope and L(C); N_opt(C); D_opt(C)) and one
// overlay of every architecture's envelope and L(C).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/fit.h"

namespace flopwise::plot {

// Series ids (data-series attributes): per-arch figure: "run-<run>",
// "envelope", "fit-L", "nopt-points", "fit-nopt", "dopt-points", "fit-dopt";
// overlay: "envelope-<arch>", "fit-L-<arch>".
struct NamedSvg {
  std::string name;  // file stem, e.g. "llama_figure1", "overlay"
  std::string svg;
};

// The colour of an architecture in every figure: fixed for the four known
// ones, otherwise by `index` from a small palette.
std::string ArchColor(const std::string& arch, size_t index);

// `records` are the fit's inputs (their C is converted with fit.unit and
// fit.convention). Archs without a paper-method fit get no figure.
std::vector<NamedSvg> ScalingFigures(std::span<const fitting::CheckpointRecord> records,
                                     const fitting::FitReport& fit);

// Writes every figure as DIR/<name>.svg and DIR/<name>.png (creating DIR);
// returns the paths written.
absl::StatusOr<std::vector<std::string>> WriteScalingFigures(
    std::span<const fitting::CheckpointRecord> records, const fitting::FitReport& fit,
    const std::string& out_dir);

}  // namespace flopwise::plot
