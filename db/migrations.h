// Private to db/: the schema as a list of migration steps, versioned through
// `PRAGMA user_version` (docs/storage.md, "Migrations").
#pragma once

#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "db/sqlite.h"

namespace flopwise::db::internal {

// Step `version` turns a database at version - 1 into one at `version`.
struct Migration {
  int version;
  std::string_view sql;
};

// Marks a flopwise database (`PRAGMA application_id`).
inline constexpr int kApplicationId = 0x666c7077;  // "flpw"

// The schema of this code, in order; the last version is the latest.
std::span<const Migration> SchemaMigrations();

// Brings the database behind `conn` to the last version of `migrations`,
// one transaction per step (a failed step leaves the previous version intact).
// FailedPrecondition if the file is newer than the list or is not a flopwise
// database (another application id, or tables without a version).
absl::Status Migrate(Connection& conn, std::span<const Migration> migrations,
                     std::string_view what);

}  // namespace flopwise::db::internal
