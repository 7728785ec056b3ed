// Private to db/: WAL checkpoints on a background thread.
//
// SQLite's auto-checkpoint runs inside the commit that crosses its threshold:
// that writer, and every call queued behind the write lock, waits while pages
// are copied into the database file and both files are synced (two fsyncs, 5 to
// 40 ms on a busy disk). WalCheckpointer replaces it. After each commit the
// writer only looks at the WAL's size: once `frames` frames are not yet copied,
// it wakes a thread that runs a PASSIVE checkpoint on a connection of its own
// (PASSIVE takes no write lock, so writers and readers go on meanwhile).
//
// The WAL file restarts from its beginning only at a write that begins when
// every frame has been copied, which a busy writer may not leave time for; so
// when the WAL holds 16 x `frames` frames the committing writer checkpoints
// itself, as SQLite would, which bounds the file. By then the thread has copied
// nearly all of it, so that checkpoint is short.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/sqlite.h"

namespace flopwise::db::internal {

class WalCheckpointer {
 public:
  // Opens the checkpoint connection to `path` and installs the commit hook
  // on `writer`, which must outlive the checkpointer.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(const std::string& path,
                                                                Connection* writer, int frames);
  // Removes the hook and joins the thread. REQUIRES: no write in flight.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  WalCheckpointer(Connection* writer, std::unique_ptr<Connection> conn, int frames);
  // sqlite3_wal_hook callback, on the writer's thread after each commit.
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames_in_wal);
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  Connection* const writer_;
  const std::unique_ptr<Connection> conn_;  // used by the thread only
  const int frames_;
  // Frames of the WAL known to be copied into the database (a hint: written
  // after each checkpoint, read by the hook).
  std::atomic<int> copied_{0};

  absl::Mutex mu_;
  absl::CondVar wanted_cv_;  // signalled when wanted_ or stopping_ is set
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace flopwise::db::internal
