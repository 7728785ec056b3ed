#include "base/utf8.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace flopwise {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
size_t ValidSequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // at most U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

int64_t FindInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    // Fast path: eight ASCII bytes at a time.
    if (i + 8 <= text.size()) {
      uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const size_t length = ValidSequenceLength(text, i);
    if (length == 0) return static_cast<int64_t>(i);
    i += length;
  }
  return -1;
}

absl::Status CheckUtf8(std::string_view text) {
  const int64_t offset = FindInvalidUtf8(text);
  if (offset < 0) return absl::OkStatus();
  int64_t line = 1;
  int64_t line_start = 0;
  for (int64_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("line %d, column %d: not valid UTF-8 (byte 0x%02x)", line,
                      offset - line_start + 1, static_cast<unsigned char>(text[offset])));
}

std::string ReplaceInvalidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  bool in_invalid_run = false;
  while (i < text.size()) {
    const size_t length = ValidSequenceLength(text, i);
    if (length == 0) {
      if (!in_invalid_run) out += "\xEF\xBF\xBD";
      in_invalid_run = true;
      ++i;
      continue;
    }
    in_invalid_run = false;
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace flopwise
