// Pre-tokenization: splits text into the pieces a BPE encodes independently,
// with a PCRE2 pattern compiled once (UTF, UCP, JIT). Private to worker/data.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace flopwise::data {

class Pretokenizer {
 public:
  // Returns InvalidArgument with PCRE2's message and offset for a bad pattern.
  static absl::StatusOr<std::unique_ptr<Pretokenizer>> Compile(const std::string& pattern);
  ~Pretokenizer();
  Pretokenizer(const Pretokenizer&) = delete;
  Pretokenizer& operator=(const Pretokenizer&) = delete;

  // Calls `on_piece` with each successive match in `text`, which must be valid
  // UTF-8 (not re-checked). The subject ends at text's end (look-aheads see
  // the end there). Returns Internal for a PCRE2 match error (resource limits).
  // Thread-safe.
  template <typename OnPiece>
  absl::Status Split(std::string_view text, OnPiece&& on_piece) const {
    size_t offset = 0;
    while (offset < text.size()) {
      size_t start = 0, end = 0;
      absl::StatusOr<bool> found = Match(text, offset, &start, &end);
      if (!found.ok()) return found.status();
      if (!*found) break;
      on_piece(text.substr(start, end - start));
      if (end > offset) {
        offset = end;
      } else {  // an empty match: step over one whole UTF-8 character
        ++offset;
        while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) {
          ++offset;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  explicit Pretokenizer(void* code) : code_(code) {}
  // Finds the next match at or after `offset`; false when there is none.
  absl::StatusOr<bool> Match(std::string_view text, size_t offset, size_t* start,
                             size_t* end) const;

  void* code_;  // pcre2_code_8*
};

}  // namespace flopwise::data
