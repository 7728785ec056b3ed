// UTF-8 validation: text entering the tokenizers, sweep specs and config files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace flopwise {

// Returns the byte offset of the first invalid UTF-8 sequence in `text`
// (overlong forms, surrogates and code points above U+10FFFF are invalid), or
// -1 when the whole of `text` is valid.
int64_t FindInvalidUtf8(std::string_view text);

// OK, or InvalidArgument placing the first invalid byte: "line 2, column 10:
// not valid UTF-8 (byte 0xe9)".
absl::Status CheckUtf8(std::string_view text);

// Returns `text` with every maximal invalid sequence replaced by U+FFFD.
std::string ReplaceInvalidUtf8(std::string_view text);

}  // namespace flopwise
