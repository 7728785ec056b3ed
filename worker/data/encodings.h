// The BPE encodings flopwise knows: ranks file, pre-tokenization pattern and
// special tokens of each, as tiktoken defines them. Private to worker/data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flopwise::data {

struct EncodingSpec {
  std::string name;        // as requested ("gpt2" is an alias of r50k_base's data)
  std::string ranks_file;  // file name under DataDir()/tokenizers/
  std::string pattern;     // PCRE2 pattern (UTF + UCP)
  std::vector<std::pair<std::string, int32_t>> special_tokens;
};

// Returns nullptr when `name` is not a BPE encoding.
const EncodingSpec* FindEncoding(std::string_view name);
std::vector<std::string> EncodingNames();

}  // namespace flopwise::data
