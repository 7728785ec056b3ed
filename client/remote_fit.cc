#include "client/remote_fit.h"

#include "base/status_macros.h"
#include "client/errors.h"
#include "runspec/architecture.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;

v1::ComputeUnit UnitToProto(const std::string& unit) {
  return unit == "pfdays" ? v1::COMPUTE_UNIT_PF_DAYS : v1::COMPUTE_UNIT_FLOPS;
}

// The options both requests share (the fields have the same names).
template <typename Request>
void SetFitOptions(const RemoteFitQuery& query, Request* request) {
  request->set_sweep_id(query.sweep_id);
  request->set_method(query.method);
  request->set_bootstrap_samples(query.bootstrap);
  request->set_interval_level(query.level);
  request->set_seed(query.seed);
  request->set_flops_convention(query.convention);
  request->set_min_tokens(query.min_tokens);
  request->set_skip_fraction(query.skip_fraction);
  request->set_metric(query.metric);
  request->set_envelope(query.envelope);
  request->set_group_by(query.group_by);
  request->set_grid(query.grid);
}

void AddShapes(const std::vector<fitting::ShapeOption>& shapes, v1::QueryOptimalRequest* request) {
  for (const fitting::ShapeOption& s : shapes) {
    const v1::Architecture arch = runspec::ArchFromName(s.arch);
    if (arch == v1::ARCHITECTURE_UNSPECIFIED) continue;
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

template <typename Response>
RemoteFitReport ReportOf(const Response& response) {
  return {response.report_json(),
          response.report_text(),
          {response.warnings().begin(), response.warnings().end()}};
}

}  // namespace

absl::StatusOr<RemoteFitReport> FitOnCoordinator(const UserConnection& connection,
                                                 const RemoteFitQuery& query) {
  grpc::ClientContext context;
  connection.Prepare(&context);
  if (query.budget == 0) {
    v1::FitScalingLawRequest request;
    SetFitOptions(query, &request);
    request.set_compute_unit(UnitToProto(query.unit));
    v1::FitScalingLawResponse response;
    RETURN_IF_ERROR(FromGrpc(connection.stub->FitScalingLaw(&context, request, &response)));
    return ReportOf(response);
  }
  v1::QueryOptimalRequest request;
  SetFitOptions(query, &request);
  request.set_budget(query.budget);
  request.set_unit(UnitToProto(query.unit));
  AddShapes(query.shapes, &request);
  v1::QueryOptimalResponse response;
  RETURN_IF_ERROR(FromGrpc(connection.stub->QueryOptimal(&context, request, &response)));
  return ReportOf(response);
}

}  // namespace flopwise::client
