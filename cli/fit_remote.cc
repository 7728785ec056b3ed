#include "cli/fit_remote.h"

#include <cstdio>

#include "cli/service_connection.h"
#include "client/remote_fit.h"
#include "client/user_connection.h"
#include "fitting/records.h"

namespace flopwise::cli {
namespace {

// The flags as a query; the --shapes file is read here, locally.
absl::StatusOr<client::RemoteFitQuery> ToQuery(const FitFlags& flags) {
  client::RemoteFitQuery query;
  query.sweep_id = flags.sweep_id;
  query.method = flags.method;
  query.unit = flags.unit;
  query.convention = flags.convention;
  query.bootstrap = flags.bootstrap;
  query.level = flags.level;
  query.seed = flags.seed;
  query.min_tokens = flags.min_tokens;
  query.skip_fraction = flags.skip_fraction;
  query.metric = flags.metric;
  query.envelope = flags.envelope;
  query.group_by = flags.group_by;
  query.grid = flags.grid;
  query.budget = flags.budget;
  if (flags.budget != 0 && !flags.shapes.empty()) {
    auto shapes = fitting::ReadShapesFile(flags.shapes);
    if (!shapes.ok()) return shapes.status();
    query.shapes = *std::move(shapes);
  }
  return query;
}

}  // namespace

int RunRemoteFit(const char* command, const FitFlags& flags) {
  auto connection = client::ConnectUser(flags.connect);
  if (!connection.ok()) return ReportError(command, connection.status());
  auto query = ToQuery(flags);
  if (!query.ok()) return ReportError(command, query.status());
  auto report = client::FitOnCoordinator(*connection, *query);
  if (!report.ok()) return ReportError(command, report.status());
  for (const std::string& w : report->warnings) {
    std::fprintf(stderr, "flopwise %s: warning: %s\n", command, w.c_str());
  }
  std::printf("%s\n", (flags.json ? report->json : report->text).c_str());
  return 0;
}

}  // namespace flopwise::cli
