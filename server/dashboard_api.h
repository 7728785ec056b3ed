// DashboardApi: the dashboard's read-only JSON API (docs/dashboard.md, "JSON
// API"), answered by calling UserService's implementation in process; each
// body is the RPC's response message in the protobuf JSON mapping (the
// proto's field names, enums by name, 64-bit integers as strings, fields at
// their defaults included), so docs/api.md describes it. Behind the client
// token. No HTTP here: server/dashboard_http.h sends the answers. Thread-safe
// (the service is).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "server/auth.h"

namespace flopwise::server {

struct ApiAnswer {
  int status = 200;  // HTTP status
  std::string body;  // JSON; an error is {"code": "NOT_FOUND", "message": "..."}
};

class DashboardApi {
 public:
  // `service` and `auth` must outlive the API; only the service's read
  // methods are called, with no ServerContext (they read none).
  DashboardApi(v1::UserService::Service* service, const TokenAuth* auth)
      : service_(service), auth_(auth) {}

  // Answers GET `path` (under /api/) with the query parameters `query` for a
  // request whose Authorization header is `authorization`: 401 without the
  // client token, 403 with the worker token; else
  //   /api/sweeps                        ListSweeps (finished ones included)
  //   /api/sweeps/ID                     GetSweep
  //   /api/sweeps/ID/runs                ListRuns of the sweep
  //   /api/sweeps/ID/checkpoints         GetCheckpoints of the sweep (loss against compute)
  //   /api/sweeps/ID/fit                 FitScalingLaw, method paper, C in FLOPs
  //   /api/sweeps/ID/optimal?budget=B    QueryOptimal for B FLOPs (&unit=pf-days: B in PF-days)
  //   /api/runs/ID                       GetRun
  //   /api/runs/ID/metrics?after_step=N  GetMetrics of the run, steps after N (default 0)
  //   /api/runs/ID/checkpoints           GetCheckpoints of the run (validation loss)
  //   /api/runs/ID/evals                 ListEvals of the run
  // List calls answer every page in one response. An unknown path is 404; a
  // malformed parameter 400 naming it; an RPC error its HTTP equivalent.
  ApiAnswer Get(std::string_view authorization, std::string_view path,
                const std::map<std::string, std::string>& query) const;

 private:
  v1::UserService::Service* service_;
  const TokenAuth* auth_;
};

}  // namespace flopwise::server
