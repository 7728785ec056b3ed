#include "client/export_sources.h"

#include <utility>

#include "base/status_macros.h"
#include "client/pages.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

absl::StatusOr<std::vector<int64_t>> ExportedSweepIds(v1::UserService::StubInterface& stub,
                                                      const std::string& token, int64_t sweep_id,
                                                      int64_t timeout_ms) {
  if (sweep_id != 0) return std::vector<int64_t>{sweep_id};
  v1::ListSweepsRequest request;
  request.set_include_finished(true);
  std::vector<int64_t> ids;
  RETURN_IF_ERROR(ForEachPage(stub, token, timeout_ms, &v1::UserService::StubInterface::ListSweeps,
                              request, [&](const v1::ListSweepsResponse& page) {
                                for (const v1::Sweep& sweep : page.sweeps()) {
                                  ids.push_back(sweep.sweep_id());
                                }
                                return absl::OkStatus();
                              }));
  return ids;
}

absl::StatusOr<std::map<int64_t, v1::Run>> RunsOfSweep(v1::UserService::StubInterface& stub,
                                                       const std::string& token, int64_t sweep_id,
                                                       int64_t timeout_ms) {
  v1::ListRunsRequest request;
  request.set_sweep_id(sweep_id);
  std::map<int64_t, v1::Run> runs;
  RETURN_IF_ERROR(ForEachPage(stub, token, timeout_ms, &v1::UserService::StubInterface::ListRuns,
                              request, [&](v1::ListRunsResponse& page) {
                                for (v1::Run& run : *page.mutable_runs()) {
                                  runs[run.run_id()] = std::move(run);
                                }
                                return absl::OkStatus();
                              }));
  return runs;
}

}  // namespace flopwise::client
