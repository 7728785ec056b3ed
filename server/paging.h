// Paging of UserService's list calls (docs/api.md, "Paging"). A page holds at
// most page_size rows and stops once it holds kMaxPageBytes; its token is the
// key of its last row, and the next page reads on after that key in SQL
// (keyset pagination), so rows added or ended meanwhile shift nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "base/status_macros.h"
#include "server/limits.h"

namespace flopwise::server {

// The key of a row, as a page token carries it.
using PageKey = std::vector<std::variant<int64_t, std::string>>;

struct PageRequest {
  size_t page_size = 0;
  std::optional<PageKey> after;  // nullopt: the first page
};

// The request's page_size (0: kDefaultPageSize) and page_token, whose key must
// have one part per letter of `kinds` ('i' an integer, 's' a string).
// InvalidArgument "page_size: ..." or "page_token: ..." otherwise.
absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, std::string_view page_token,
                                             std::string_view kinds);

std::string EncodePageToken(const PageKey& key);

// Rows read per store call while a page fills.
inline constexpr size_t kPageBatchRows = 100;

// Fills one page: reads rows with `fetch(after, limit)` (those after the key,
// at most `limit`) in batches, appends each to the response with `add(row)`
// (which returns the bytes it added) and returns the next page's token
// (empty on the last page). `key_of(row)` gives a row's PageKey.
template <typename Fetch, typename Add, typename KeyOf>
absl::StatusOr<std::string> FillPage(const PageRequest& page, Fetch fetch, Add add, KeyOf key_of) {
  std::optional<PageKey> after = page.after;
  size_t rows = 0;
  size_t bytes = 0;
  while (true) {
    // One row more than the page takes says whether another page follows.
    const size_t limit = std::min(page.page_size - rows, kPageBatchRows) + 1;
    ASSIGN_OR_RETURN(const auto batch, fetch(after, limit));
    for (const auto& row : batch) {
      if (rows == page.page_size || bytes >= kMaxPageBytes) return EncodePageToken(*after);
      ASSIGN_OR_RETURN(const size_t added, add(row));
      bytes += added;
      ++rows;
      after = key_of(row);
    }
    if (batch.size() < limit) return std::string();
  }
}

}  // namespace flopwise::server
