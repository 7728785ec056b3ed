#include "worker/data/ranks_file.h"

#include <fstream>
#include <sstream>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/charconv.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace flopwise::data {

absl::StatusOr<RankedTokens> ReadRanksFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open ranks file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseRanks(buffer.str(), path);
}

absl::StatusOr<RankedTokens> ParseRanks(const std::string& text, const std::string& origin) {
  RankedTokens tokens;
  std::vector<bool> seen;
  std::unordered_set<std::string> distinct;
  int64_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto where = [&] { return absl::StrCat(origin, ":", line_number, ": "); };
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "expected '<base64 token> <rank>'"));
    }
    std::string bytes;
    if (!absl::Base64Unescape(line.substr(0, space), &bytes) || bytes.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "token is not valid base64"));
    }
    int64_t rank = 0;
    if (!absl::SimpleAtoi(line.substr(space + 1), &rank) || rank < 0 || rank > (1 << 30)) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "rank '", line.substr(space + 1),
                                                     "' is not a number in [0, 2^30]"));
    }
    if (static_cast<size_t>(rank) >= tokens.size()) {
      tokens.resize(rank + 1);
      seen.resize(rank + 1, false);
    }
    if (seen[rank])
      return absl::InvalidArgumentError(absl::StrCat(where(), "duplicate rank ", rank));
    if (!distinct.insert(bytes).second) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "duplicate token"));
    }
    seen[rank] = true;
    tokens[rank] = std::move(bytes);
  }
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(origin, ": no ranks"));
  for (size_t rank = 0; rank < seen.size(); ++rank) {
    if (!seen[rank]) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": rank ", rank, " is missing"));
    }
  }
  return tokens;
}

}  // namespace flopwise::data
