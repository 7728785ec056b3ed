// Protobuf messages as JSON text and files (the proto's own field names, as in
// the .proto files), for what is stored or handed over as a file: the
// coordinator's run plans and the run config a worker gives flopwise-train.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace flopwise::runspec {

// One line unless `multiline`; fields at their defaults are left out.
std::string ProtoToJson(const google::protobuf::Message& message, bool multiline = false);
// InvalidArgument "<what>: <parser message>" for text that is not that message
// (unknown fields included).
absl::Status ProtoFromJson(std::string_view json, std::string_view what,
                           google::protobuf::Message* message);

// Writes `message` to `path` through a temporary file and a rename, so a
// reader never sees half a file.
absl::Status WriteProtoJsonFile(const google::protobuf::Message& message, const std::string& path);
absl::Status ReadProtoJsonFile(const std::string& path, google::protobuf::Message* message);

}  // namespace flopwise::runspec
