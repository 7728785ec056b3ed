#include "client/event_file.h"

#include <system_error>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "client/tfrecord.h"
#include "tensorboard/event.pb.h"

namespace flopwise::client {

absl::StatusOr<EventFileWriter> EventFileWriter::Open(const std::filesystem::path& path,
                                                      double wall_time) {
  std::error_code error;
  const bool is_new =
      !std::filesystem::exists(path, error) || std::filesystem::file_size(path, error) == 0;
  std::ofstream file(path, std::ios::binary | std::ios::app);
  if (!file) {
    return absl::PermissionDeniedError(absl::StrCat(path.string(), ": cannot write"));
  }
  EventFileWriter writer(path, std::move(file));
  if (is_new) {
    tensorboard::Event version;
    version.set_wall_time(wall_time);
    version.set_file_version("brain.Event:2");
    RETURN_IF_ERROR(writer.Write(version.SerializeAsString()));
  }
  return writer;
}

absl::Status EventFileWriter::Add(int64_t step, double wall_time,
                                  const std::vector<Scalar>& scalars) {
  tensorboard::Event event;
  event.set_wall_time(wall_time);
  event.set_step(step);
  for (const Scalar& scalar : scalars) {
    tensorboard::Summary::Value* value = event.mutable_summary()->add_value();
    value->set_tag(scalar.tag);
    value->set_simple_value(static_cast<float>(scalar.value));
  }
  return Write(event.SerializeAsString());
}

absl::Status EventFileWriter::Write(const std::string& serialized_event) {
  file_ << TfRecord(serialized_event);
  if (!file_) return absl::DataLossError(absl::StrCat(path_.string(), ": write failed"));
  return absl::OkStatus();
}

absl::Status EventFileWriter::Close() {
  file_.close();
  if (!file_) return absl::DataLossError(absl::StrCat(path_.string(), ": write failed"));
  return absl::OkStatus();
}

}  // namespace flopwise::client
