// Fuzzes the BPE tokenizer (cl100k_base ranks from .deps/): any valid UTF-8
// text must encode (special-token text as ordinary text) and decode back to
// the same bytes; invalid UTF-8 must be refused, never crash. The input read
// as little-endian int32 ids must decode or be refused.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "worker/data/tokenizer.h"

namespace {

const flopwise::data::Tokenizer& Cl100k() {
  static const flopwise::data::Tokenizer* tokenizer = [] {
    auto loaded = flopwise::data::Tokenizer::LoadFromFile("cl100k_base", FLOPWISE_FUZZ_RANKS);
    if (!loaded.ok()) {
      std::fprintf(stderr, "fuzz_tokenizer: %s\n", loaded.status().ToString().c_str());
      std::abort();
    }
    return loaded->release();
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const flopwise::data::Tokenizer& tokenizer = Cl100k();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<int32_t> ids;
  if (tokenizer.Encode(text, flopwise::data::SpecialTokens::kAsText, &ids).ok()) {
    std::string decoded;
    if (!tokenizer.Decode(ids, &decoded).ok() || decoded != text) {
      std::fprintf(stderr, "fuzz_tokenizer: round trip changed the text\n");
      std::abort();
    }
  }
  ids.clear();
  (void)tokenizer.Encode(text, flopwise::data::SpecialTokens::kAllow, &ids);
  std::vector<int32_t> raw(size / 4);
  if (!raw.empty()) std::memcpy(raw.data(), data, raw.size() * 4);
  std::string decoded;
  (void)tokenizer.Decode(raw, &decoded);
  return 0;
}
