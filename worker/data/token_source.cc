#include "worker/data/token_source.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "worker/data/mapped_file.h"
#include "worker/data/shard_format.h"

namespace flopwise::data {
namespace {

constexpr int32_t kLlmcMagic = 20240520;
constexpr int32_t kLlmcVersion = 1;
constexpr uint64_t kLlmcHeaderBytes = 256 * sizeof(int32_t);

// Reads token `i` of a little-endian array of `width`-byte ids.
inline uint32_t TokenAt(const char* tokens, uint32_t width, uint64_t i) {
  if (width == 2) {
    uint16_t v;
    std::memcpy(&v, tokens + 2 * i, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, tokens + 4 * i, 4);
  return v;
}

absl::Status CheckedCopy(const MappedFile& file, const char* tokens, uint32_t width, uint64_t first,
                         std::span<int32_t> out, uint64_t limit) {
  for (size_t k = 0; k < out.size(); ++k) {
    const uint32_t id = TokenAt(tokens, width, first + k);
    if (id >= limit) {
      return absl::InvalidArgumentError(absl::StrCat(file.path(), ": token ", first + k, " (id ",
                                                     id, ") is beyond the vocabulary (", limit,
                                                     ")"));
    }
    out[k] = static_cast<int32_t>(id);
  }
  return absl::OkStatus();
}

// llm.c shards and raw files: the tokens as they are.
class FlatSource final : public TokenSource {
 public:
  FlatSource(std::unique_ptr<MappedFile> file, uint64_t offset, uint32_t width, uint64_t count)
      : file_(std::move(file)), tokens_(file_->data() + offset), width_(width), count_(count) {}
  uint64_t length() const override { return count_; }
  absl::Status Read(uint64_t start, std::span<int32_t> out) const override {
    return CheckedCopy(*file_, tokens_, width_, start, out, uint64_t{INT32_MAX} + 1);
  }
  int64_t vocab_size() const override { return 0; }
  std::string tokenizer_name() const override { return ""; }

 private:
  std::unique_ptr<MappedFile> file_;
  const char* tokens_;
  uint32_t width_;
  uint64_t count_;
};

// A flopwise shard: document d occupies stream tokens
// [starts[d] + d, starts[d+1] + d + 1) when the shard has an end-of-text id:
// the id itself, then the document's tokens.
class ShardSource final : public TokenSource {
 public:
  ShardSource(std::unique_ptr<MappedFile> file, ShardHeader header)
      : file_(std::move(file)), header_(std::move(header)) {
    tokens_ = file_->data() + kShardHeaderBytes;
    starts_ = reinterpret_cast<const uint64_t*>(file_->data() + header_.documents_offset());
  }
  absl::Status Validate() const {
    if (starts_[0] != 0 || starts_[header_.document_count] != header_.token_count) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_->path(), ": corrupt document index (bounds)"));
    }
    for (uint64_t d = 0; d < header_.document_count; ++d) {
      if (starts_[d] > starts_[d + 1]) {
        return absl::InvalidArgumentError(
            absl::StrCat(file_->path(), ": corrupt document index at document ", d));
      }
    }
    return absl::OkStatus();
  }
  bool inserts_eot() const { return header_.eot_id >= 0 && header_.document_count > 0; }
  uint64_t length() const override {
    return header_.token_count + (inserts_eot() ? header_.document_count : 0);
  }
  absl::Status Read(uint64_t start, std::span<int32_t> out) const override {
    if (!inserts_eot()) {
      return CheckedCopy(*file_, tokens_, header_.token_width, start, out, header_.vocab_size);
    }
    // First document whose stream range ends after `start`.
    uint64_t lo = 0, hi = header_.document_count;
    while (lo < hi) {
      const uint64_t mid = (lo + hi) / 2;
      if (starts_[mid + 1] + mid + 1 <= start) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    size_t filled = 0;
    uint64_t at = start;
    for (uint64_t d = lo; filled < out.size(); ++d) {
      const uint64_t doc_stream_start = starts_[d] + d;
      if (at == doc_stream_start) {
        out[filled++] = static_cast<int32_t>(header_.eot_id);
        ++at;
      }
      const uint64_t first = starts_[d] + (at - doc_stream_start - 1);
      const uint64_t n = std::min<uint64_t>(starts_[d + 1] - first, out.size() - filled);
      RETURN_IF_ERROR(CheckedCopy(*file_, tokens_, header_.token_width, first,
                                  out.subspan(filled, n), header_.vocab_size));
      filled += n;
      at += n;
    }
    return absl::OkStatus();
  }
  int64_t vocab_size() const override { return static_cast<int64_t>(header_.vocab_size); }
  std::string tokenizer_name() const override { return header_.tokenizer; }

 private:
  std::unique_ptr<MappedFile> file_;
  ShardHeader header_;
  const char* tokens_;
  const uint64_t* starts_;
};

absl::StatusOr<std::unique_ptr<TokenSource>> OpenRaw(std::unique_ptr<MappedFile> file,
                                                     uint32_t width) {
  if (file->size() % width != 0) {
    return absl::InvalidArgumentError(absl::StrCat(file->path(), ": truncated: ", file->size(),
                                                   " bytes is not a whole number of ", width,
                                                   "-byte tokens"));
  }
  const uint64_t count = file->size() / width;
  return std::unique_ptr<TokenSource>(new FlatSource(std::move(file), 0, width, count));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenSource>> TokenSource::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  const char* bytes = file->data();
  if (file->size() >= sizeof(kShardMagic) &&
      std::memcmp(bytes, kShardMagic, sizeof(kShardMagic)) == 0) {
    ASSIGN_OR_RETURN(ShardHeader header, DecodeShardHeader(path, bytes, file->size()));
    auto source = std::make_unique<ShardSource>(std::move(file), std::move(header));
    RETURN_IF_ERROR(source->Validate());
    return std::unique_ptr<TokenSource>(std::move(source));
  }
  int32_t magic = 0;
  if (file->size() >= 4) std::memcpy(&magic, bytes, 4);
  if (magic == kLlmcMagic) {
    int32_t header[3];
    if (file->size() < kLlmcHeaderBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": truncated llm.c shard (header is 1024 bytes)"));
    }
    std::memcpy(header, bytes, sizeof(header));
    if (header[1] != kLlmcVersion) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": llm.c shard version ", header[1],
                                                     " is not supported (expected 1)"));
    }
    const uint64_t count = header[2] < 0 ? 0 : static_cast<uint64_t>(header[2]);
    if (header[2] < 0 || file->size() != kLlmcHeaderBytes + 2 * count) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": truncated or corrupt llm.c shard: header promises ", header[2],
                       " tokens, the file has ", file->size(), " bytes"));
    }
    return std::unique_ptr<TokenSource>(
        new FlatSource(std::move(file), kLlmcHeaderBytes, 2, count));
  }
  if (absl::EndsWith(path, ".u16")) return OpenRaw(std::move(file), 2);
  if (absl::EndsWith(path, ".u32") || absl::EndsWith(path, ".bin")) {
    return OpenRaw(std::move(file), 4);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path,
                   ": unknown token file (not a flopwise shard, not an llm.c shard, and "
                   "not a raw .u16/.u32/.bin file)"));
}

}  // namespace flopwise::data
