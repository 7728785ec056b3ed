// The dashboard's pages (server/dashboard/*.html, .js, .css), compiled into
// the coordinator at build time by server/dashboard/embed.cmake.
#pragma once

#include <span>
#include <string_view>

namespace flopwise::server {

struct DashboardAsset {
  std::string_view name;  // the file's name in server/dashboard/, e.g. "app.js"
  std::string_view bytes;
};

std::span<const DashboardAsset> DashboardAssets();

}  // namespace flopwise::server
