// One TensorBoard event file: TFRecord records (client/tfrecord.h) each
// holding a serialized Event (proto/tensorboard/event.proto), the first one
// the file version "brain.Event:2", then scalar summaries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flopwise::client {

struct Scalar {
  std::string tag;  // e.g. "train/loss"
  double value;     // stored as a float, TensorBoard's simple_value
};

class EventFileWriter {
 public:
  // Opens `path` for appending; a new or empty file gets the version record,
  // stamped `wall_time` (seconds since the Unix epoch).
  static absl::StatusOr<EventFileWriter> Open(const std::filesystem::path& path, double wall_time);

  // One event at `step` holding every scalar of `scalars`.
  absl::Status Add(int64_t step, double wall_time, const std::vector<Scalar>& scalars);

  // Flushes and closes; an error names the file.
  absl::Status Close();

 private:
  EventFileWriter(std::filesystem::path path, std::ofstream file)
      : path_(std::move(path)), file_(std::move(file)) {}
  absl::Status Write(const std::string& serialized_event);

  std::filesystem::path path_;
  std::ofstream file_;
};

}  // namespace flopwise::client
