#include "server/fit_inputs.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "fitting/sweep_records.h"
#include "models/model_flags.h"
#include "runspec/model_shape.h"
#include "server/run_plan.h"

namespace flopwise::server {
namespace {

// Part of every hash. Bump it when the fitting module's results change for
// the same inputs, so that fits stored by an older coordinator are not served.
constexpr char kFitCacheVersion[] = "flopwise-fit/2";

struct RunInfo {
  std::string arch, name;
  int64_t params_non_embedding = 0;
  fitting::RunSettings settings;
};

std::string JoinArchs(std::span<const std::string> archs) {
  std::string out;
  for (const std::string& arch : archs) out += (out.empty() ? "" : ", ") + arch;
  return out;
}

// Appends the exact value: %a prints every bit of a double.
void AppendReal(std::string& out, double v) {
  char text[40];
  std::snprintf(text, sizeof(text), "%a;", v);
  out += text;
}

// Length-prefixed, so that no two lists of strings read the same.
void AppendText(std::string& out, std::string_view s) { out += Cat(s.size(), ":", s, ";"); }

void AppendReals(std::string& out, const std::vector<double>& values) {
  out += Cat(values.size(), "[");
  for (double v : values) AppendReal(out, v);
  out += "]";
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof(byte), "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

}  // namespace

absl::StatusOr<fitting::RunSettings> RunSettingsOf(const RunPlan& plan) {
  const v1::ModelShape& shape = plan.config().model();
  fitting::RunSettings settings;
  settings.context = shape.context();
  settings.layers = shape.layers();
  settings.d_model = shape.d_model();
  settings.vocab = shape.vocab();
  ASSIGN_OR_RETURN(const models::ModelConfig model, runspec::ModelConfigFromShape(shape));
  for (const auto& [name, value] : models::NonDefaultModelFlags(model)) {
    settings.flags += Cat(settings.flags.empty() ? "" : ",", name, "=", value);
  }
  settings.grids.assign(plan.grids().begin(), plan.grids().end());
  return settings;
}

absl::StatusOr<FitInputs> ReadFitInputs(db::Store& store, int64_t sweep_id,
                                        std::span<const std::string> archs) {
  if (auto sweep = store.GetSweep(sweep_id); !sweep.ok()) {
    if (absl::IsNotFound(sweep.status())) {
      return absl::NotFoundError(Cat("sweep_id: no sweep ", sweep_id));
    }
    return sweep.status();
  }
  db::RunFilter run_filter;
  run_filter.sweep_id = sweep_id;
  ASSIGN_OR_RETURN(const std::vector<db::RunRecord> runs, store.ListRuns(run_filter));
  std::map<int64_t, RunInfo> selected;
  for (const db::RunRecord& run : runs) {
    if (!archs.empty() && std::find(archs.begin(), archs.end(), run.arch) == archs.end()) continue;
    ASSIGN_OR_RETURN(const RunPlan plan, RunPlanFromJson(run.config_json));
    ASSIGN_OR_RETURN(fitting::RunSettings settings, RunSettingsOf(plan));
    selected[run.run_id] = {run.arch, run.name, plan.params_non_embedding(), std::move(settings)};
  }
  db::RowFilter row_filter;
  row_filter.sweep_id = sweep_id;
  ASSIGN_OR_RETURN(const std::vector<db::CheckpointRecord> checkpoints,
                   store.ListCheckpoints(row_filter));

  FitInputs inputs;
  std::map<std::string, int> per_arch;
  int read = 0, left_out = 0;
  std::string example;
  for (const db::CheckpointRecord& c : checkpoints) {
    auto run = selected.find(c.run_id);
    if (run == selected.end()) continue;
    ++read;
    std::optional<fitting::CheckpointRecord> record = fitting::RecordFromCheckpoint(
        {.arch = run->second.arch,
         .run = run->second.name,
         .params_non_embedding = run->second.params_non_embedding,
         .tokens = c.row.tokens,
         .flops = c.row.flops,
         .loss = c.row.loss,
         .validation_loss =
             c.row.validation ? c.row.validation->loss : fitting::kNoValidationLoss});
    if (!record) {
      if (left_out++ == 0) {
        example = Cat(run->second.name, " step ", c.row.step, ": tokens ", c.row.tokens, ", flops ",
                      c.row.flops, ", loss ", c.row.loss);
      }
      continue;
    }
    record->settings = run->second.settings;
    inputs.records.push_back(*std::move(record));
    ++per_arch[run->second.arch];
  }
  if (left_out > 0) {
    inputs.warnings.push_back(Cat(left_out, " of ", read,
                                  " checkpoints left out: tokens, flops or loss not positive and "
                                  "finite (first: ",
                                  example, ")"));
  }
  for (size_t i = 0; i < archs.size(); ++i) {
    if (per_arch[archs[i]] == 0) {
      return absl::FailedPreconditionError(Cat("architectures[", i, "]: sweep ", sweep_id,
                                               " has no usable checkpoints of ", archs[i]));
    }
  }
  if (inputs.records.empty()) {
    const std::string of = archs.empty() ? "" : Cat(" of ", JoinArchs(archs));
    if (read == 0) {
      return absl::FailedPreconditionError(
          Cat("sweep ", sweep_id, " has no checkpoints", of, " yet: nothing to fit"));
    }
    return absl::FailedPreconditionError(Cat("sweep ", sweep_id, ": none of its ", read,
                                             " checkpoints", of,
                                             " has positive, finite tokens, flops and loss"));
  }
  return inputs;
}

std::string FitInputsHash(std::span<const fitting::CheckpointRecord> records,
                          const fitting::FitOptions& options, std::string_view method) {
  std::string text = Cat(kFitCacheVersion, "\n");
  AppendText(text, method);
  AppendText(text, fitting::ComputeUnitKey(options.unit));
  AppendText(text, fitting::FlopsConventionKey(options.convention));
  AppendText(text, fitting::EnvelopeKindKey(options.envelope));
  AppendText(text, fitting::LossMetricKey(options.metric));
  text += Cat(options.methods, ";", options.bootstrap_resamples, ";", options.seed, ";",
              options.envelope_grid_points, ";", options.isoflop_levels, ";");
  AppendReal(text, options.interval_level);
  AppendReal(text, options.min_tokens);
  AppendReal(text, options.skip_fraction);
  const fitting::Approach3Grid& grid = options.approach3;
  for (const std::vector<double>* axis :
       {&grid.log_a, &grid.log_b, &grid.log_e, &grid.alpha, &grid.beta}) {
    AppendReals(text, *axis);
  }
  text += Cat(grid.solves, ";", grid.bootstrap_solves, ";");
  AppendReal(text, grid.huber_delta);
  text += Cat("\n", records.size(), "\n");
  for (const fitting::CheckpointRecord& r : records) {
    AppendText(text, r.arch);
    AppendText(text, r.run);
    AppendText(text, r.group);
    for (double v : {r.n_params, r.n_params_total, r.tokens, r.flops, r.loss, r.validation_loss}) {
      AppendReal(text, v);
    }
    text += "\n";
  }
  return Sha256Hex(text);
}

}  // namespace flopwise::server
