#include "server/dashboard_http.h"

#include <httplib.h>

#include <map>
#include <string>
#include <string_view>

#include "server/dashboard_assets.h"

namespace flopwise::server {
namespace {

std::string_view ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void ServeAsset(std::string_view name, httplib::Response& response) {
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name != name) continue;
    response.set_content(asset.bytes.data(), asset.bytes.size(),
                         std::string(ContentType(name)).c_str());
    response.set_header("X-Content-Type-Options", "nosniff");
    return;
  }
  response.status = 404;
  response.set_content("no such page\n", "text/plain; charset=utf-8");
}

}  // namespace

void MountDashboard(const DashboardApi* api, httplib::Server* server) {
  server->Get(kDashboardPagesPrefix, [](const httplib::Request&, httplib::Response& response) {
    ServeAsset("index.html", response);
  });
  server->Get(R"(/dashboard/([A-Za-z0-9_.-]+))",
              [](const httplib::Request& request, httplib::Response& response) {
                ServeAsset(request.matches[1].str(), response);
              });
  server->Get(R"(/api/.*)", [api](const httplib::Request& request, httplib::Response& response) {
    std::map<std::string, std::string> query;
    for (const auto& [name, value] : request.params) query.emplace(name, value);
    const ApiAnswer answer =
        api->Get(request.get_header_value("Authorization"), request.path, query);
    response.status = answer.status;
    if (answer.status == 401) response.set_header("WWW-Authenticate", "Bearer");
    response.set_header("Cache-Control", "no-store");
    response.set_content(answer.body, "application/json");
  });
}

}  // namespace flopwise::server
