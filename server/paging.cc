#include "server/paging.h"

#include <nlohmann/json.hpp>

#include "base/str_cat.h"

namespace flopwise::server {

absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, std::string_view page_token,
                                             std::string_view kinds) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(Cat("page_size: must be in [0, ", kMaxPageSize, "]"));
  }
  PageRequest page;
  page.page_size = static_cast<size_t>(page_size > 0 ? page_size : kDefaultPageSize);
  if (page_token.empty()) return page;
  const absl::Status bad =
      absl::InvalidArgumentError("page_token: not a token from a previous response of this call");
  const nlohmann::json parsed =
      nlohmann::json::parse(page_token, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.size() != kinds.size()) return bad;
  PageKey key;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (kinds[i] == 'i' && parsed[i].is_number_integer()) {
      key.emplace_back(parsed[i].get<int64_t>());
    } else if (kinds[i] == 's' && parsed[i].is_string()) {
      key.emplace_back(parsed[i].get<std::string>());
    } else {
      return bad;
    }
  }
  page.after = std::move(key);
  return page;
}

std::string EncodePageToken(const PageKey& key) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& part : key) {
    std::visit([&](const auto& value) { parts.push_back(value); }, part);
  }
  return parts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace flopwise::server
