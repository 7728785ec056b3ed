#include "worker/eval/haystack.h"

#include <algorithm>
#include <span>

#include "base/utf8.h"
#include "worker/data/token_stream.h"

namespace flopwise::eval {
namespace {

constexpr int64_t kReadWindow = 64;  // short: a small split still opens

}  // namespace

absl::StatusOr<std::vector<int32_t>> ReadHaystack(const std::string& split_path,
                                                  const data::Tokenizer& tokenizer,
                                                  int64_t tokens) {
  data::StreamOptions options;
  options.sequence_length = kReadWindow;
  options.shuffle = false;
  auto stream = data::TokenStream::Open(split_path, options);
  if (!stream.ok()) return stream.status();
  std::vector<int32_t> window(kReadWindow + 1);
  std::string text;
  std::vector<int32_t> run;  // ids between end-of-text marks
  int64_t read = 0;
  const uint64_t windows = (*stream)->sequences_per_epoch();
  for (uint64_t w = 0; w < windows && read < tokens; ++w) {
    if (absl::Status s = (*stream)->NextSequence(window); !s.ok()) return s;
    // Windows overlap by one id: keep the first kReadWindow of each.
    const int64_t take = std::min<int64_t>(kReadWindow, tokens - read);
    for (int64_t i = 0; i < take; ++i) {
      if (window[i] != tokenizer.eot_id()) {
        run.push_back(window[i]);
        continue;
      }
      if (absl::Status s = tokenizer.Decode(run, &text); !s.ok()) return s;
      if (!text.empty()) text.push_back('\n');
      run.clear();
    }
    read += take;
  }
  if (absl::Status s = tokenizer.Decode(run, &text); !s.ok()) return s;
  // A cut inside a multi-byte character leaves a broken tail.
  const int64_t invalid = FindInvalidUtf8(text);
  if (invalid >= 0) text.resize(invalid);
  std::vector<int32_t> ids;
  if (absl::Status s = tokenizer.Encode(text, data::SpecialTokens::kAsText, &ids); !s.ok()) {
    return s;
  }
  return ids;
}

}  // namespace flopwise::eval
