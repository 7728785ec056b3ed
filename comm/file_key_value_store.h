// A KeyValueStore kept as files in one folder (docs/distributed.md,
// "Rendezvous"): one file per key, written under a temporary name and linked
// into place, so a reader sees a whole value or none. For ranks on one host
// (a folder they all see) and for tests.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "comm/key_value_store.h"

namespace flopwise::comm {

class FileKeyValueStore final : public KeyValueStore {
 public:
  // Creates `dir` when missing. InvalidArgument naming the folder when it
  // cannot be created.
  static absl::StatusOr<std::unique_ptr<FileKeyValueStore>> Open(const std::string& dir);

  // Thread-safe (every call works on the file system only).
  absl::Status Set(const std::string& key, const std::string& value) override;
  absl::StatusOr<std::string> Get(const std::string& key, absl::Duration timeout) override;

 private:
  explicit FileKeyValueStore(std::string dir) : dir_(std::move(dir)) {}
  // The file that holds `key`: every byte outside [A-Za-z0-9_-] written as
  // %XX, so any key is one file name and never a temporary's (".tmp-…").
  std::string PathOf(const std::string& key) const;

  const std::string dir_;
};

}  // namespace flopwise::comm
