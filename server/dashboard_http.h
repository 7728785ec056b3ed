// The dashboard on a cpp-httplib server (docs/dashboard.md): the pages, open
// to anyone who reaches the port since they hold no data (they ask for the
// client token and send it with every API call), and the JSON API under
// /api/ behind the client token.
#pragma once

#include "server/dashboard_api.h"

namespace httplib {
class Server;
}

namespace flopwise::server {

// Where the pages and the API live (the token check of an HttpServer skips them).
inline constexpr char kDashboardPagesPrefix[] = "/dashboard/";
inline constexpr char kDashboardApiPrefix[] = "/api/";

// Adds to `server`: GET /dashboard/ and /dashboard/NAME (the embedded pages),
// and GET /api/... (DashboardApi, which checks the token: 401 without
// `Authorization: Bearer <client token>`, 403 for the worker token). `api`
// must outlive the server.
void MountDashboard(const DashboardApi* api, httplib::Server* server);

}  // namespace flopwise::server
