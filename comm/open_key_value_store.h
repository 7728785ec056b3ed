// The rendezvous store a `--rendezvous URI` names (docs/distributed.md).
#pragma once

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "comm/key_value_store.h"

namespace flopwise::comm {

// `file:DIR`: a FileKeyValueStore in DIR (created when missing). Anything
// else is InvalidArgument naming the flag `--rendezvous`.
absl::StatusOr<std::unique_ptr<KeyValueStore>> OpenKeyValueStore(std::string_view uri);

}  // namespace flopwise::comm
