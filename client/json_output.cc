#include "client/json_output.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;
using Json = nlohmann::ordered_json;

Json ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  // Fails only for Any fields of unknown types; the API has none.
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  return Json::parse(text);
}

template <typename Message>
Json Array(std::span<const Message> messages) {
  Json array = Json::array();
  for (const Message& message : messages) array.push_back(ToJson(message));
  return array;
}

std::string Document(const Json& json) { return json.dump(2) + "\n"; }

}  // namespace

std::string SweepsJson(std::span<const v1::Sweep> sweeps) {
  return Document({{"sweeps", Array(sweeps)}});
}

std::string SweepViewJson(const SweepView& view) {
  Json runs = Json::array();
  for (const auto& [id, run] : view.runs) runs.push_back(ToJson(run));
  return Document({{"sweeps", Array(std::span<const v1::Sweep>(view.sweeps))}, {"runs", runs}});
}

std::string RunsJson(std::span<const v1::Run> runs) { return Document({{"runs", Array(runs)}}); }

std::string RunJson(const v1::Run& run) {
  v1::GetRunResponse response;
  *response.mutable_run() = run;
  return Document(ToJson(response));
}

std::string WorkersJson(std::span<const v1::Worker> workers) {
  return Document({{"workers", Array(workers)}});
}

std::string SubmitJson(const v1::SubmitSweepResponse& response, bool dry_run) {
  Json json = ToJson(response);
  json["dry_run"] = dry_run;
  return Document(json);
}

std::string CancelJson(int64_t sweep_id, const v1::CancelSweepResponse& response) {
  v1::CancelSweepRequest request;
  request.set_sweep_id(sweep_id);
  Json json = ToJson(request);
  json.update(ToJson(response));
  return Document(json);
}

std::string DrainJson(const v1::Worker& worker) {
  v1::SetDrainingResponse response;
  *response.mutable_worker() = worker;
  return Document(ToJson(response));
}

std::string RetryJson(const v1::RetryRunsResponse& response) { return Document(ToJson(response)); }

}  // namespace flopwise::client
