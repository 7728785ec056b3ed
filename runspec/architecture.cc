#include "runspec/architecture.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flopwise::runspec {
namespace {

namespace v1 = ::flopwise::v1;

constexpr std::string_view kPrefix = "ARCHITECTURE_";

}  // namespace

v1::Architecture ArchToProto(models::Arch arch) {
  v1::Architecture value = v1::ARCHITECTURE_UNSPECIFIED;
  v1::Architecture_Parse(absl::StrCat(std::string(kPrefix),
                                      absl::AsciiStrToUpper(std::string(models::ArchName(arch)))),
                         &value);
  return value;
}

std::string ArchName(v1::Architecture arch) {
  if (arch == v1::ARCHITECTURE_UNSPECIFIED || !v1::Architecture_IsValid(arch)) return "";
  return absl::AsciiStrToLower(v1::Architecture_Name(arch).substr(kPrefix.size()));
}

v1::Architecture ArchFromName(std::string_view name) {
  absl::StatusOr<models::Arch> arch = models::ParseArch(name);
  return arch.ok() ? ArchToProto(*arch) : v1::ARCHITECTURE_UNSPECIFIED;
}

}  // namespace flopwise::runspec
