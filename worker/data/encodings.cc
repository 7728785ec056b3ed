#include "worker/data/encodings.h"

namespace flopwise::data {
namespace {

// tiktoken's patterns use \s for Unicode White_Space (Rust regex). PCRE2's \s
// differs at the edges (U+0085), so the class is spelled out: the 25 code
// points with the White_Space property.
#define FW_WS            \
  "\\t\\n\\x{0B}\\f\\r " \
  "\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

// Contractions: the case variants of tiktoken's (?i:'s|'t|'re|'ve|'m|'ll|'d)
// spelled out, as js-tiktoken does, so that Unicode case folding (U+017F long
// s) never joins a contraction.
#define FW_CONTRACTIONS "'s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D"

const char kR50kPattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" FW_WS
                            "\\p{L}\\p{N}]+|[" FW_WS "]+(?![^" FW_WS "])|[" FW_WS "]+";

const char kCl100kPattern[] =
    "(?:" FW_CONTRACTIONS ")|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^" FW_WS
    "\\p{L}\\p{N}]+[\\r\\n]*|[" FW_WS "]*[\\r\\n]+|[" FW_WS "]+(?![^" FW_WS "])|[" FW_WS "]+";

const char kO200kPattern[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?:" FW_CONTRACTIONS
    ")?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
    "(?:" FW_CONTRACTIONS ")?|\\p{N}{1,3}| ?[^" FW_WS "\\p{L}\\p{N}]+[\\r\\n/]*|[" FW_WS
    "]*[\\r\\n]+|[" FW_WS "]+(?![^" FW_WS "])|[" FW_WS "]+";

#undef FW_WS
#undef FW_CONTRACTIONS

const std::vector<EncodingSpec>& Encodings() {
  static const std::vector<EncodingSpec> encodings = {
      {"cl100k_base",
       "cl100k_base.tiktoken",
       kCl100kPattern,
       {{"<|endoftext|>", 100257},
        {"<|fim_prefix|>", 100258},
        {"<|fim_middle|>", 100259},
        {"<|fim_suffix|>", 100260},
        {"<|endofprompt|>", 100276}}},
      {"r50k_base", "r50k_base.tiktoken", kR50kPattern, {{"<|endoftext|>", 50256}}},
      {"gpt2", "r50k_base.tiktoken", kR50kPattern, {{"<|endoftext|>", 50256}}},
      {"o200k_base",
       "o200k_base.tiktoken",
       kO200kPattern,
       {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}},
  };
  return encodings;
}

}  // namespace

const EncodingSpec* FindEncoding(std::string_view name) {
  for (const EncodingSpec& spec : Encodings()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::vector<std::string> EncodingNames() {
  std::vector<std::string> names;
  for (const EncodingSpec& spec : Encodings()) names.push_back(spec.name);
  return names;
}

}  // namespace flopwise::data
