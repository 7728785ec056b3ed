#include "comm/open_key_value_store.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "comm/file_key_value_store.h"

namespace flopwise::comm {

absl::StatusOr<std::unique_ptr<KeyValueStore>> OpenKeyValueStore(std::string_view uri) {
  absl::string_view rest(uri.data(), uri.size());
  if (absl::ConsumePrefix(&rest, "file:")) {
    if (rest.empty()) {
      return absl::InvalidArgumentError("--rendezvous: 'file:' needs a folder (file:DIR)");
    }
    auto store = FileKeyValueStore::Open(std::string(rest));
    if (!store.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--rendezvous: ", store.status().message()));
    }
    return std::unique_ptr<KeyValueStore>(*std::move(store));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--rendezvous: '", std::string(uri), "' names no rendezvous store (expected file:DIR)"));
}

}  // namespace flopwise::comm
