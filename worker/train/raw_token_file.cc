#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "worker/train/token_source.h"

namespace flopwise::train {
namespace {

class RawTokenFile final : public TokenSource {
 public:
  RawTokenFile(std::vector<int32_t> tokens, int64_t sequence_length)
      : tokens_(std::move(tokens)), sequence_length_(sequence_length) {}

  absl::Status Next(std::span<int32_t> out) override {
    if (static_cast<int64_t>(out.size()) != sequence_length_ + 1) {
      return absl::InvalidArgumentError(absl::StrCat("sequence buffer holds ", out.size(),
                                                     " ids, expected ", sequence_length_ + 1));
    }
    if (next_ + sequence_length_ + 1 > static_cast<int64_t>(tokens_.size())) next_ = 0;
    std::memcpy(out.data(), tokens_.data() + next_, out.size() * sizeof(int32_t));
    next_ += sequence_length_;
    return absl::OkStatus();
  }

  uint64_t position() const override { return static_cast<uint64_t>(next_); }

  absl::Status Seek(uint64_t position) override {
    if (position >= tokens_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "data position ", position, " is beyond the file's ", tokens_.size(), " tokens"));
    }
    next_ = static_cast<int64_t>(position);
    return absl::OkStatus();
  }

 private:
  std::vector<int32_t> tokens_;
  int64_t sequence_length_;
  int64_t next_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TokenSource>> OpenRawTokenFile(const std::string& path,
                                                              int64_t sequence_length) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("data: ", path, ": no such file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  const bool u16 = absl::EndsWith(path, ".u16");
  const size_t width = u16 ? 2 : 4;
  if (bytes.size() % width != 0) {
    return absl::InvalidArgumentError(absl::StrCat("data: ", path, ": size ", bytes.size(),
                                                   " is not a multiple of ", width,
                                                   " bytes (truncated token file?)"));
  }
  std::vector<int32_t> tokens(bytes.size() / width);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (u16) {
      uint16_t v;
      std::memcpy(&v, bytes.data() + 2 * i, 2);
      tokens[i] = v;
    } else {
      uint32_t v;
      std::memcpy(&v, bytes.data() + 4 * i, 4);
      tokens[i] = v > 0x7fffffffu ? -1 : static_cast<int32_t>(v);
    }
  }
  if (static_cast<int64_t>(tokens.size()) < sequence_length + 1) {
    return absl::FailedPreconditionError(absl::StrCat("data: ", path, " holds ", tokens.size(),
                                                      " tokens, fewer than one sequence (",
                                                      sequence_length + 1, ")"));
  }
  return std::unique_ptr<TokenSource>(new RawTokenFile(std::move(tokens), sequence_length));
}

}  // namespace flopwise::train
