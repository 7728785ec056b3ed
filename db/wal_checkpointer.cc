#include "db/wal_checkpointer.h"

#include <sqlite3.h>

#include <utility>

#include "base/status_macros.h"

namespace flopwise::db::internal {
namespace {

// The WAL size, in multiples of `frames`, at which the writer checkpoints.
constexpr int kWriterCheckpointFactor = 16;

}  // namespace

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                        Connection* writer,
                                                                        int frames) {
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                   Connection::Open(path, SQLITE_OPEN_READWRITE, /*busy_timeout_ms=*/0));
  // A connection learns that the file is in WAL mode on its first read; until
  // then a checkpoint on it does nothing.
  RETURN_IF_ERROR(
      conn->QueryInt64("SELECT count(*) FROM sqlite_schema", "open checkpointer").status());
  std::unique_ptr<WalCheckpointer> checkpointer(
      new WalCheckpointer(writer, std::move(conn), frames));
  // Replaces SQLite's auto-checkpoint, which is a WAL hook too.
  sqlite3_wal_hook(writer->raw(), &WalCheckpointer::OnCommit, checkpointer.get());
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(Connection* writer, std::unique_ptr<Connection> conn, int frames)
    : writer_(writer), conn_(std::move(conn)), frames_(frames) {
  thread_ = std::thread([this] { Loop(); });
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_->raw(), nullptr, nullptr);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wanted_cv_.Signal();
  }
  thread_.join();
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int frames_in_wal) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  const int frames = checkpointer->frames_;
  if (frames_in_wal >= kWriterCheckpointFactor * frames) {
    int copied = -1;
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
    checkpointer->copied_.store(copied > 0 ? copied : 0, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  int copied = checkpointer->copied_.load(std::memory_order_relaxed);
  if (copied > frames_in_wal) copied = 0;  // the WAL restarted since
  // Near the bound, the thread keeps up closely so that the writer's own
  // checkpoint has little left to copy.
  const int due = frames_in_wal >= kWriterCheckpointFactor * frames / 2 ? frames / 16 : frames;
  if (frames_in_wal - copied >= due) checkpointer->Wake();
  return SQLITE_OK;
}

void WalCheckpointer::Wake() {
  absl::MutexLock lock(&mu_);
  wanted_ = true;
  wanted_cv_.Signal();
}

void WalCheckpointer::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      while (!wanted_ && !stopping_) wanted_cv_.Wait(&mu_);
      if (stopping_) return;
      wanted_ = false;
    }
    // A failure (say, a full disk) is retried at the next wake-up; the
    // writer's own checkpoint bounds the WAL meanwhile.
    int copied = -1;
    sqlite3_wal_checkpoint_v2(conn_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
    if (copied >= 0) copied_.store(copied, std::memory_order_relaxed);
  }
}

}  // namespace flopwise::db::internal
