// Architecture names and the flopwise.v1 enum: the proto's ARCHITECTURE_<NAME>
// is models::ArchName upper-cased, so both directions derive from the two
// definitions instead of a third table.
#pragma once

#include <string>
#include <string_view>

#include "flopwise/v1/types.pb.h"
#include "models/config.h"

namespace flopwise::runspec {

::flopwise::v1::Architecture ArchToProto(models::Arch arch);

// ARCHITECTURE_TNL -> "tnl"; "" for UNSPECIFIED.
std::string ArchName(::flopwise::v1::Architecture arch);
// "tnl" -> ARCHITECTURE_TNL; UNSPECIFIED for an unknown name.
::flopwise::v1::Architecture ArchFromName(std::string_view name);

}  // namespace flopwise::runspec
