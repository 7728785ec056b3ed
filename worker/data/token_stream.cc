#include "worker/data/token_stream.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "worker/data/token_source.h"
#include "worker/data/window_order.h"

namespace flopwise::data {
namespace fs = std::filesystem;
namespace {

// Windows of sequence_length + 1 stream tokens, window w starting at stream
// token w * sequence_length, over the concatenation of the sources.
class ConcatenatedStream final : public TokenStream {
 public:
  ConcatenatedStream(std::vector<std::unique_ptr<TokenSource>> sources,
                     const StreamOptions& options)
      : sources_(std::move(sources)), options_(options) {
    starts_.push_back(0);
    for (const auto& source : sources_) starts_.push_back(starts_.back() + source->length());
    windows_ = (starts_.back() - 1) / static_cast<uint64_t>(options_.sequence_length);
  }
  uint64_t stream_tokens() const { return starts_.back(); }
  uint64_t sequences_per_epoch() const override { return windows_; }

  absl::Status NextSequence(std::span<int32_t> out) override {
    const uint64_t want = static_cast<uint64_t>(options_.sequence_length) + 1;
    if (out.size() != want) {
      return absl::InvalidArgumentError(
          absl::StrCat("NextSequence: buffer holds ", out.size(),
                       " tokens, expected sequence_length + 1 = ", want));
    }
    const uint64_t window = WindowAt(step_, windows_, options_.seed, options_.shuffle);
    uint64_t at = window * static_cast<uint64_t>(options_.sequence_length);
    size_t filled = 0;
    size_t source = std::upper_bound(starts_.begin(), starts_.end(), at) - starts_.begin() - 1;
    while (filled < out.size()) {
      const uint64_t n = std::min<uint64_t>(starts_[source + 1] - at, out.size() - filled);
      RETURN_IF_ERROR(sources_[source]->Read(at - starts_[source], out.subspan(filled, n)));
      filled += n;
      at += n;
      ++source;
    }
    ++step_;
    return absl::OkStatus();
  }
  uint64_t position() const override { return step_; }
  absl::Status Seek(uint64_t position) override {
    step_ = position;
    return absl::OkStatus();
  }
  int64_t vocab_size() const override { return sources_.front()->vocab_size(); }
  std::string tokenizer_name() const override { return sources_.front()->tokenizer_name(); }

 private:
  std::vector<std::unique_ptr<TokenSource>> sources_;
  StreamOptions options_;
  std::vector<uint64_t> starts_;  // stream token where each source begins, then the total
  uint64_t windows_ = 0;
  uint64_t step_ = 0;  // sequences returned so far (over all epochs)
};

absl::StatusOr<nlohmann::json> ReadManifest(const fs::path& dir) {
  const fs::path path = dir / "manifest.json";
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(dir.string(),
                                            ": a token directory needs a manifest.json (written by "
                                            "`flopwise data prepare`)"));
  }
  nlohmann::json manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": not a JSON object"));
  }
  return manifest;
}

// The shard files of a directory: its manifest's "shards", or those of its
// "train" split for a dataset directory.
absl::StatusOr<std::vector<std::string>> ShardPaths(const fs::path& dir) {
  ASSIGN_OR_RETURN(nlohmann::json manifest, ReadManifest(dir));
  if (manifest.contains("splits")) {
    const nlohmann::json& splits = manifest["splits"];
    if (!splits.is_object() || !splits.contains("train") || !splits["train"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat((dir / "manifest.json").string(), ": splits.train: missing"));
    }
    return ShardPaths(dir / splits["train"].get<std::string>());
  }
  const nlohmann::json& shards = manifest.value("shards", nlohmann::json());
  if (!shards.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat((dir / "manifest.json").string(), ": shards: missing or not an array"));
  }
  std::vector<std::string> paths;
  for (size_t i = 0; i < shards.size(); ++i) {
    if (!shards[i].is_object() || !shards[i].contains("file") || !shards[i]["file"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat((dir / "manifest.json").string(), ": shards[", i, "].file: missing"));
    }
    paths.push_back((dir / shards[i]["file"].get<std::string>()).string());
  }
  return paths;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenStream>> TokenStream::Open(const std::string& path,
                                                               const StreamOptions& options) {
  if (options.sequence_length <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence_length: ", options.sequence_length, " must be positive"));
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  std::vector<std::string> paths = {path};
  if (fs::is_directory(path, ec)) {
    ASSIGN_OR_RETURN(paths, ShardPaths(path));
  }
  std::vector<std::unique_ptr<TokenSource>> sources;
  for (const std::string& shard : paths) {
    ASSIGN_OR_RETURN(std::unique_ptr<TokenSource> source, TokenSource::Open(shard));
    if (!sources.empty() && (source->vocab_size() != sources.front()->vocab_size() ||
                             source->tokenizer_name() != sources.front()->tokenizer_name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          shard, ": tokenizer ", source->tokenizer_name(), " / vocab ", source->vocab_size(),
          " differs from the first shard's (", sources.front()->tokenizer_name(), " / ",
          sources.front()->vocab_size(), ")"));
    }
    sources.push_back(std::move(source));
  }
  if (sources.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": holds no shards"));
  }
  auto stream = std::make_unique<ConcatenatedStream>(std::move(sources), options);
  if (stream->stream_tokens() < static_cast<uint64_t>(options.sequence_length) + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": holds ", stream->stream_tokens(),
                     " tokens, fewer than sequence_length + 1 = ", options.sequence_length + 1));
  }
  return std::unique_ptr<TokenStream>(std::move(stream));
}

}  // namespace flopwise::data
