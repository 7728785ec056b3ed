#include "client/export.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "client/channel.h"
#include "client/errors.h"
#include "client/eval_jobs.h"
#include "client/export_sources.h"
#include "client/format.h"
#include "client/pages.h"
#include "runspec/architecture.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;
using Json = nlohmann::json;

// The columns every exported row has, in CSV order.
struct Row {
  int64_t sweep_id = 0;
  std::string run;  // run name
  int64_t run_id = 0;
  std::string arch;
  int64_t params_non_embedding = 0;
  int32_t attempt = 0;
  int64_t step = 0;
  int64_t tokens = 0;
  double flops = 0;
  double loss = 0;
  bool superseded = false;
  // metrics only
  double lr = 0, grad_norm = 0, tokens_per_s = 0;
  // checkpoints only; the trainer's validation (NaN and 0 tokens: none ran)
  std::string path, sha256;
  double validation_loss = NAN, validation_bits_per_byte = NAN;
  int64_t validation_tokens = 0;
};

Json Number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Real(double value) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.10g", value);
  return text;
}

// An empty CSV field for a value that is not there (NaN).
std::string OptionalReal(double value) { return std::isnan(value) ? "" : Real(value); }

void Write(const Row& row, bool metrics, const std::string& format, std::ostream& out) {
  if (format == "jsonl") {
    Json j = {{"sweep", row.sweep_id},
              {"run", row.run},
              {"run_id", row.run_id},
              {"arch", row.arch},
              {"params_non_embedding", row.params_non_embedding},
              {"attempt", row.attempt},
              {"step", row.step},
              {"tokens", row.tokens},
              {"flops", Number(row.flops)},
              {"loss", Number(row.loss)},
              {"superseded", row.superseded}};
    if (metrics) {
      j["lr"] = Number(row.lr);
      j["grad_norm"] = Number(row.grad_norm);
      j["tokens_per_s"] = Number(row.tokens_per_s);
    } else {
      j["path"] = row.path;
      j["sha256"] = row.sha256;
      j["validation_loss"] = Number(row.validation_loss);
      j["validation_bits_per_byte"] = Number(row.validation_bits_per_byte);
      j["validation_tokens"] = row.validation_tokens;
    }
    out << j.dump() << "\n";
    return;
  }
  out << row.sweep_id << "," << CsvField(row.run) << "," << row.run_id << "," << row.arch << ","
      << row.params_non_embedding << "," << row.attempt << "," << row.step << "," << row.tokens
      << "," << Real(row.flops) << "," << Real(row.loss) << "," << (row.superseded ? 1 : 0);
  if (metrics) {
    out << "," << Real(row.lr) << "," << Real(row.grad_norm) << "," << Real(row.tokens_per_s);
  } else {
    out << "," << CsvField(row.path) << "," << row.sha256 << ","
        << OptionalReal(row.validation_loss) << "," << OptionalReal(row.validation_bits_per_byte)
        << "," << row.validation_tokens;
  }
  out << "\n";
}

void WriteCsvHeader(bool metrics, std::ostream& out) {
  out << "sweep,run,run_id,arch,params_non_embedding,attempt,step,tokens,flops,loss,superseded";
  out << (metrics ? ",lr,grad_norm,tokens_per_s\n"
                  : ",path,sha256,validation_loss,validation_bits_per_byte,validation_tokens\n");
}

Row RowOf(int64_t sweep_id, const std::map<int64_t, v1::Run>& runs, int64_t run_id,
          int32_t attempt) {
  Row row;
  row.sweep_id = sweep_id;
  row.run_id = run_id;
  row.attempt = attempt;
  auto it = runs.find(run_id);
  if (it != runs.end()) {
    row.run = it->second.name();
    row.arch = runspec::ArchName(it->second.config().model().arch());
    row.params_non_embedding = it->second.params_non_embedding();
  }
  return row;
}

}  // namespace

absl::StatusOr<int64_t> Export(v1::UserService::StubInterface& stub, const std::string& token,
                               const ExportOptions& options, std::ostream& out) {
  if (options.format == "tensorboard") {
    return absl::InvalidArgumentError(
        "--format tensorboard: writes a folder of event files, not a stream "
        "(client/tensorboard_export.h)");
  }
  if (options.format != "jsonl" && options.format != "csv") {
    return absl::InvalidArgumentError(
        absl::StrCat("--format: must be csv, jsonl or tensorboard, not \"", options.format, "\""));
  }
  if (options.what != "metrics" && options.what != "checkpoints" && options.what != "evals") {
    return absl::InvalidArgumentError(
        absl::StrCat("--what: must be metrics, checkpoints or evals, not \"", options.what, "\""));
  }
  const bool metrics = options.what == "metrics";
  ASSIGN_OR_RETURN(const std::vector<int64_t> sweep_ids,
                   ExportedSweepIds(stub, token, options.sweep_id, options.timeout_ms));
  // Rows are written as each page arrives.
  int64_t written = 0;
  if (options.what == "evals") {
    if (options.include_superseded) {
      return absl::InvalidArgumentError(
          "--include-superseded: not available for evals (superseded results are left out)");
    }
    WriteEvals({}, options.format, /*header=*/true, out);
    for (int64_t sweep_id : sweep_ids) {
      v1::ListEvalsRequest request;
      request.set_sweep_id(sweep_id);
      RETURN_IF_ERROR(ForEachPage(
          stub, token, options.timeout_ms, &v1::UserService::StubInterface::ListEvals, request,
          [&](const v1::ListEvalsResponse& page) {
            const std::vector<v1::EvalResult> rows(page.rows().begin(), page.rows().end());
            written += WriteEvals(rows, options.format,
                                  /*header=*/false, out);
            return absl::OkStatus();
          }));
    }
    return written;
  }
  if (options.format == "csv") WriteCsvHeader(metrics, out);
  for (int64_t sweep_id : sweep_ids) {
    ASSIGN_OR_RETURN(const auto runs, RunsOfSweep(stub, token, sweep_id, options.timeout_ms));
    if (!metrics) {
      v1::GetCheckpointsRequest request;
      request.set_sweep_id(sweep_id);
      request.set_include_superseded(options.include_superseded);
      RETURN_IF_ERROR(ForEachPage(
          stub, token, options.timeout_ms, &v1::UserService::StubInterface::GetCheckpoints, request,
          [&](const v1::GetCheckpointsResponse& page) {
            for (const v1::CheckpointRow& c : page.checkpoints()) {
              Row row = RowOf(sweep_id, runs, c.run_id(), c.attempt());
              row.step = c.checkpoint().step();
              row.tokens = c.checkpoint().tokens();
              row.flops = c.checkpoint().flops();
              row.loss = c.checkpoint().loss();
              row.superseded = c.superseded();
              row.path = c.checkpoint().path();
              row.sha256 = c.checkpoint().sha256();
              if (c.checkpoint().validation_tokens() > 0) {
                row.validation_loss = c.checkpoint().validation_loss();
                row.validation_bits_per_byte = c.checkpoint().validation_bits_per_byte();
                row.validation_tokens = c.checkpoint().validation_tokens();
              }
              if (row.arch.empty()) row.arch = runspec::ArchName(c.arch());
              Write(row, metrics, options.format, out);
              ++written;
            }
            return absl::OkStatus();
          }));
      continue;
    }
    v1::GetMetricsRequest request;
    request.set_sweep_id(sweep_id);
    request.set_include_superseded(options.include_superseded);
    RETURN_IF_ERROR(ForEachPage(stub, token, options.timeout_ms,
                                &v1::UserService::StubInterface::GetMetrics, request,
                                [&](const v1::GetMetricsResponse& page) {
                                  for (const v1::MetricRow& m : page.rows()) {
                                    Row row = RowOf(sweep_id, runs, m.run_id(), m.attempt());
                                    row.step = m.point().step();
                                    row.tokens = m.point().tokens();
                                    row.flops = m.point().flops();
                                    row.loss = m.point().loss();
                                    row.lr = m.point().lr();
                                    row.grad_norm = m.point().grad_norm();
                                    row.tokens_per_s = m.point().tokens_per_s();
                                    row.superseded = m.superseded();
                                    Write(row, metrics, options.format, out);
                                    ++written;
                                  }
                                  return absl::OkStatus();
                                }));
  }
  return written;
}

}  // namespace flopwise::client
