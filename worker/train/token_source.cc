#include "worker/train/token_source.h"

#include "worker/data/token_stream.h"

namespace flopwise::train {
namespace {

class StreamSource final : public TokenSource {
 public:
  explicit StreamSource(std::unique_ptr<data::TokenStream> stream) : stream_(std::move(stream)) {}
  absl::Status Next(std::span<int32_t> out) override { return stream_->NextSequence(out); }
  uint64_t position() const override { return stream_->position(); }
  absl::Status Seek(uint64_t position) override { return stream_->Seek(position); }

 private:
  std::unique_ptr<data::TokenStream> stream_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TokenSource>> TokenSource::Open(const std::string& path,
                                                               int64_t sequence_length,
                                                               uint64_t seed) {
  data::StreamOptions options;
  options.sequence_length = sequence_length;
  options.seed = seed;
  auto stream = data::TokenStream::Open(path, options);
  if (!stream.ok()) {
    return absl::Status(stream.status().code(), "data: " + std::string(stream.status().message()));
  }
  return std::unique_ptr<TokenSource>(new StreamSource(std::move(*stream)));
}

}  // namespace flopwise::train
