#include "server/dashboard_api.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "base/str_cat.h"
#include "server/paging.h"

namespace flopwise::server {
namespace {

using Query = std::map<std::string, std::string>;

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Fails only for Any fields of unknown types; the API has none.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

ApiAnswer Error(grpc::StatusCode code, std::string_view message) {
  // gRPC's codes are Abseil's, whose names are the canonical ones.
  const nlohmann::json body = {
      {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))},
      {"message", std::string(message)}};
  return {HttpStatusOf(code), body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

ApiAnswer BadRequest(std::string_view message) {
  return Error(grpc::StatusCode::INVALID_ARGUMENT, message);
}

ApiAnswer Answer(const grpc::Status& status, const google::protobuf::Message& response) {
  if (!status.ok()) return Error(status.error_code(), status.error_message());
  return {200, ToJson(response)};
}

// Calls a paged list method page after page, `response` gathering every row.
template <typename Request, typename Response>
grpc::Status AllPages(v1::UserService::Service* service,
                      grpc::Status (v1::UserService::Service::*method)(grpc::ServerContext*,
                                                                       const Request*, Response*),
                      Request request, Response* response) {
  while (true) {
    Response page;
    if (grpc::Status status = (service->*method)(nullptr, &request, &page); !status.ok()) {
      return status;
    }
    std::string next = page.next_page_token();
    response->MergeFrom(page);
    if (next.empty()) break;
    request.set_page_token(std::move(next));
  }
  response->clear_next_page_token();
  return grpc::Status::OK;
}

std::optional<std::string> Param(const Query& query, const std::string& name) {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

// The resource id in a path segment: a positive integer.
std::optional<int64_t> Id(std::string_view segment) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(absl::string_view(segment.data(), segment.size()), &id) || id <= 0) {
    return std::nullopt;
  }
  return id;
}

ApiAnswer Sweeps(v1::UserService::Service* service) {
  v1::ListSweepsRequest request;
  request.set_include_finished(true);
  v1::ListSweepsResponse response;
  const grpc::Status status =
      AllPages(service, &v1::UserService::Service::ListSweeps, request, &response);
  return Answer(status, response);
}

ApiAnswer Sweep(v1::UserService::Service* service, int64_t sweep_id, std::string_view part,
                const Query& query) {
  if (part.empty()) {
    v1::GetSweepRequest request;
    request.set_sweep_id(sweep_id);
    v1::GetSweepResponse response;
    return Answer(service->GetSweep(nullptr, &request, &response), response);
  }
  if (part == "runs") {
    v1::ListRunsRequest request;
    request.set_sweep_id(sweep_id);
    v1::ListRunsResponse response;
    const grpc::Status status =
        AllPages(service, &v1::UserService::Service::ListRuns, request, &response);
    return Answer(status, response);
  }
  if (part == "checkpoints") {
    v1::GetCheckpointsRequest request;
    request.set_sweep_id(sweep_id);
    v1::GetCheckpointsResponse response;
    const grpc::Status status =
        AllPages(service, &v1::UserService::Service::GetCheckpoints, request, &response);
    return Answer(status, response);
  }
  if (part == "fit") {
    v1::FitScalingLawRequest request;
    request.set_sweep_id(sweep_id);
    request.set_compute_unit(v1::COMPUTE_UNIT_FLOPS);
    v1::FitScalingLawResponse response;
    return Answer(service->FitScalingLaw(nullptr, &request, &response), response);
  }
  if (part == "optimal") {
    v1::QueryOptimalRequest request;
    request.set_sweep_id(sweep_id);
    const std::optional<std::string> budget = Param(query, "budget");
    double value = 0;
    if (!budget) return BadRequest("budget: required (a number of FLOPs, e.g. 1e18)");
    if (!absl::SimpleAtod(*budget, &value)) {
      return BadRequest(Cat("budget: not a number (got '", *budget, "')"));
    }
    request.set_budget(value);  // QueryOptimal checks it is positive and finite
    const std::string unit = Param(query, "unit").value_or("flops");
    if (unit == "flops") {
      request.set_unit(v1::COMPUTE_UNIT_FLOPS);
    } else if (unit == "pf-days") {
      request.set_unit(v1::COMPUTE_UNIT_PF_DAYS);
    } else {
      return BadRequest(Cat("unit: must be flops or pf-days (got '", unit, "')"));
    }
    v1::QueryOptimalResponse response;
    return Answer(service->QueryOptimal(nullptr, &request, &response), response);
  }
  return Error(grpc::StatusCode::NOT_FOUND, Cat("no such page: sweeps/", sweep_id, "/", part));
}

ApiAnswer Run(v1::UserService::Service* service, int64_t run_id, std::string_view part,
              const Query& query) {
  if (part.empty()) {
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::GetRunResponse response;
    return Answer(service->GetRun(nullptr, &request, &response), response);
  }
  if (part == "metrics") {
    int64_t after_step = 0;
    if (const std::optional<std::string> text = Param(query, "after_step")) {
      if (!absl::SimpleAtoi(*text, &after_step) || after_step < 0) {
        return BadRequest(Cat("after_step: not a step (got '", *text, "')"));
      }
    }
    v1::GetMetricsRequest request;
    request.set_run_id(run_id);
    // The effective rows are keyed (run, step, attempt, seq) (user_service.cc):
    // a key past every row of step `after_step` starts the listing after it.
    request.set_page_token(
        EncodePageToken({run_id, after_step, int64_t{std::numeric_limits<int32_t>::max()},
                         std::numeric_limits<int64_t>::max()}));
    v1::GetMetricsResponse response;
    const grpc::Status status =
        AllPages(service, &v1::UserService::Service::GetMetrics, request, &response);
    return Answer(status, response);
  }
  if (part == "checkpoints") {
    v1::GetCheckpointsRequest request;
    request.set_run_id(run_id);
    v1::GetCheckpointsResponse response;
    const grpc::Status status =
        AllPages(service, &v1::UserService::Service::GetCheckpoints, request, &response);
    return Answer(status, response);
  }
  if (part == "evals") {
    v1::GetRunRequest get;
    get.set_run_id(run_id);
    v1::GetRunResponse run;
    // ListEvals takes any run id; an unknown run is a 404 as elsewhere.
    if (grpc::Status status = service->GetRun(nullptr, &get, &run); !status.ok()) {
      return Answer(status, run);
    }
    v1::ListEvalsRequest request;
    request.set_run_id(run_id);
    v1::ListEvalsResponse response;
    const grpc::Status status =
        AllPages(service, &v1::UserService::Service::ListEvals, request, &response);
    return Answer(status, response);
  }
  return Error(grpc::StatusCode::NOT_FOUND, Cat("no such page: runs/", run_id, "/", part));
}

}  // namespace

ApiAnswer DashboardApi::Get(std::string_view authorization, std::string_view path,
                            const Query& query) const {
  if (const grpc::Status allowed = auth_->CheckHeader(authorization, Role::kClient);
      !allowed.ok()) {
    return Error(allowed.error_code(), allowed.error_code() == grpc::StatusCode::PERMISSION_DENIED
                                           ? "the worker token cannot read the dashboard"
                                           : "send the client token as 'Authorization: Bearer "
                                             "<token>'");
  }
  constexpr std::string_view kPrefix = "/api/";
  if (!path.starts_with(kPrefix)) return Error(grpc::StatusCode::NOT_FOUND, "not an API path");
  std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(path.data() + kPrefix.size(), path.size() - kPrefix.size()),
                     '/', absl::SkipEmpty());
  if (parts.size() == 1 && parts[0] == "sweeps") return Sweeps(service_);
  if (parts.size() >= 2 && parts.size() <= 3 && (parts[0] == "sweeps" || parts[0] == "runs")) {
    const std::string_view kind = parts[0] == "sweeps" ? "sweep" : "run";
    const std::optional<int64_t> id = Id(parts[1]);
    if (!id) return BadRequest(Cat(kind, " id: not a positive integer (got '", parts[1], "')"));
    const std::string_view part = parts.size() == 3 ? std::string_view(parts[2]) : "";
    return parts[0] == "sweeps" ? Sweep(service_, *id, part, query)
                                : Run(service_, *id, part, query);
  }
  return Error(grpc::StatusCode::NOT_FOUND, Cat("no such page: ", path));
}

}  // namespace flopwise::server
