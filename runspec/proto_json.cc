#include "runspec/proto_json.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace flopwise::runspec {

std::string ProtoToJson(const google::protobuf::Message& message, bool multiline) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = multiline;
  std::string json;
  // Fails only for messages with Any fields of unknown types; these have none.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

absl::Status ProtoFromJson(std::string_view json, std::string_view what,
                           google::protobuf::Message* message) {
  message->Clear();
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ", status.message().as_string()));
  }
  return absl::OkStatus();
}

absl::Status WriteProtoJsonFile(const google::protobuf::Message& message, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ProtoToJson(message, /*multiline=*/true);
    if (!out.flush()) return absl::UnavailableError(absl::StrCat(tmp, ": cannot write"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat(path, ": cannot rename ", tmp, " into place"));
  }
  return absl::OkStatus();
}

absl::Status ReadProtoJsonFile(const std::string& path, google::protobuf::Message* message) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  return ProtoFromJson(text.str(), path, message);
}

}  // namespace flopwise::runspec
