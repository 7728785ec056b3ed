#include "cli/fit_remote.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "client/format.h"
#include "fitting/records.h"
#include "runspec/architecture.h"

namespace flopwise::cli {
namespace {

namespace v1 = ::flopwise::v1;

v1::ComputeUnit UnitToProto(const std::string& unit) {
  return unit == "pfdays" ? v1::COMPUTE_UNIT_PF_DAYS : v1::COMPUTE_UNIT_FLOPS;
}

// The options both requests share (the fields have the same names).
template <typename Request>
void SetFitOptions(const FitFlags& flags, Request* request) {
  request->set_sweep_id(flags.sweep_id);
  request->set_method(flags.method);
  request->set_bootstrap_samples(flags.bootstrap);
  request->set_interval_level(flags.level);
  request->set_seed(flags.seed);
  request->set_flops_convention(flags.convention);
  request->set_min_tokens(flags.min_tokens);
  request->set_skip_fraction(flags.skip_fraction);
}

// The --shapes table for the request. Rows of an architecture the coordinator
// does not train could never match a run, so they are left out.
absl::Status AddShapes(const std::string& path, v1::QueryOptimalRequest* request) {
  if (path.empty()) return absl::OkStatus();
  auto shapes = fitting::ReadShapesFile(path);
  if (!shapes.ok()) return shapes.status();
  for (const fitting::ShapeOption& s : *shapes) {
    for (int a = v1::Architecture_MIN; a <= v1::Architecture_MAX; ++a) {
      const auto arch = static_cast<v1::Architecture>(a);
      if (arch == v1::ARCHITECTURE_UNSPECIFIED || runspec::ArchName(arch) != s.arch) continue;
      v1::ShapeOption* shape = request->add_shapes();
      shape->set_arch(arch);
      shape->set_name(s.name);
      shape->set_layers(s.layers);
      shape->set_d_model(s.d_model);
      shape->set_heads(s.heads);
      shape->set_n_params(s.n_params);
      shape->set_flops_per_token(s.flops_per_token);
    }
  }
  return absl::OkStatus();
}

void PrintReport(const char* command, const FitFlags& flags, const std::string& json,
                 const std::string& text,
                 const google::protobuf::RepeatedPtrField<std::string>& warnings) {
  for (const std::string& w : warnings) {
    std::fprintf(stderr, "flopwise %s: warning: %s\n", command, w.c_str());
  }
  std::printf("%s\n", (flags.json ? json : text).c_str());
}

bool PositiveFinite(double v) { return v > 0 && std::isfinite(v); }

}  // namespace

int RunRemoteFit(const char* command, const FitFlags& flags) {
  auto connection = Connect(flags.connect);
  if (!connection.ok()) return ReportError(command, connection.status());
  grpc::ClientContext context;
  connection->Prepare(&context);
  if (flags.budget == 0) {
    v1::FitScalingLawRequest request;
    SetFitOptions(flags, &request);
    request.set_compute_unit(UnitToProto(flags.unit));
    v1::FitScalingLawResponse response;
    const grpc::Status status = connection->stub->FitScalingLaw(&context, request, &response);
    if (!status.ok()) return ReportError(command, client::FromGrpc(status));
    PrintReport(command, flags, response.report_json(), response.report_text(),
                response.warnings());
    return 0;
  }
  v1::QueryOptimalRequest request;
  SetFitOptions(flags, &request);
  request.set_budget(flags.budget);
  request.set_unit(UnitToProto(flags.unit));
  if (absl::Status status = AddShapes(flags.shapes, &request); !status.ok()) {
    return ReportError(command, status);
  }
  v1::QueryOptimalResponse response;
  const grpc::Status status = connection->stub->QueryOptimal(&context, request, &response);
  if (!status.ok()) return ReportError(command, client::FromGrpc(status));
  PrintReport(command, flags, response.report_json(), response.report_text(), response.warnings());
  return 0;
}

absl::StatusOr<SweepRecords> FetchSweepRecords(const ServiceConnection& connection,
                                               int64_t sweep_id) {
  {
    grpc::ClientContext context;
    connection.Prepare(&context);
    v1::GetSweepRequest request;
    request.set_sweep_id(sweep_id);
    v1::GetSweepResponse response;
    const grpc::Status status = connection.stub->GetSweep(&context, request, &response);
    if (!status.ok()) return client::FromGrpc(status);  // NOT_FOUND for an unknown sweep
  }
  std::map<int64_t, v1::Run> runs;
  {
    grpc::ClientContext context;
    connection.Prepare(&context);
    v1::ListRunsRequest request;
    request.set_sweep_id(sweep_id);
    v1::ListRunsResponse response;
    const grpc::Status status = connection.stub->ListRuns(&context, request, &response);
    if (!status.ok()) return client::FromGrpc(status);
    for (const v1::Run& run : response.runs()) runs[run.run_id()] = run;
  }
  grpc::ClientContext context;
  connection.Prepare(&context);
  v1::GetCheckpointsRequest request;
  request.set_sweep_id(sweep_id);
  v1::GetCheckpointsResponse response;
  const grpc::Status status = connection.stub->GetCheckpoints(&context, request, &response);
  if (!status.ok()) return client::FromGrpc(status);
  SweepRecords out;
  for (const v1::CheckpointRow& row : response.checkpoints()) {
    const v1::CheckpointPoint& c = row.checkpoint();
    const double tokens = static_cast<double>(c.tokens());
    auto run = runs.find(row.run_id());
    if (run == runs.end()) continue;
    if (!PositiveFinite(tokens) || !PositiveFinite(c.flops()) || !PositiveFinite(c.loss())) {
      ++out.left_out;
      continue;
    }
    fitting::CheckpointRecord record;
    record.arch = runspec::ArchName(row.arch());
    record.run = run->second.name();
    record.n_params = static_cast<double>(row.params_non_embedding());
    record.tokens = tokens;
    record.flops = c.flops();
    record.loss = c.loss();
    out.records.push_back(std::move(record));
  }
  if (out.records.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("sweep ", sweep_id,
                     " has no checkpoints with positive, finite tokens, "
                     "flops and loss yet: nothing to plot"));
  }
  return out;
}

}  // namespace flopwise::cli
