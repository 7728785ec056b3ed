// Our BPE encodings against js-tiktoken (run under node in the test) on hard
// strings and on a sample of the Brown corpus; decode(encode(x)) == x.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/data/test_support.h"
#include "worker/data/corpus.h"
#include "worker/data/tokenizer.h"

namespace flopwise::data {
namespace {

// Long single pieces (letters without spaces) take the heap merge path.
std::vector<std::string> LongRandomWords() {
  std::vector<std::string> words;
  uint64_t state = 42;
  const std::string letters = "etaoinshrdlucmfwypvbgkjqxzETAOINS";
  for (int w = 0; w < 12; ++w) {
    std::string word;
    while (word.size() < 150 + 25 * static_cast<size_t>(w)) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      word += letters[(state >> 33) % letters.size()];
    }
    words.push_back(word + "é" + word.substr(0, 40));
  }
  return words;
}

std::vector<std::string> HardStrings() {
  return {
      "Hello, world! It's a test.",
      "I'm sure they'll say we'd've done it; you're right, it isn't. DON'T SHOUT'S 'LL 'Re",
      "12 123 1234 12345 123456789012 3.14159 1,000,000 0x1F2E",
      "a  b   c    d\t\te\n\nf\r\n\r\ng     \n   h",
      "   leading and trailing   ",
      "\n\n\n",
      "emoji 🎉🚀👍🏽 and family 👨‍👩‍👧‍👦 flags 🇩🇪",
      "中文字符测试，日本語のテキスト。한국어 텍스트",
      "mixed: Привет мир, γειά σου, مرحبا, שלום, नमस्ते",
      "café naïve résumé Ångström ß ǅ ﬁ",
      "<|endoftext|>start and <|endoftext|> middle <|fim_prefix|>x<|fim_suffix|>",
      "code: for (int i = 0; i < n; ++i) { x[i] += y[i]; } // done",
      "punctuation!!! ??? ... --- *** ((()))",
      "tabs\tand\u00a0non-breaking\u2009spaces\u3000ideographic",
      "x",
      "",
      std::string(3000, ' ') + "x" + std::string(2000, '\n'),
      std::string(1000, '7'),
      std::string(2000, 'a') + std::string(500, '!'),
      "aaaaééé😀😀 zzz",
      [] {
        std::string long_words;
        for (int i = 0; i < 12; ++i) long_words += "Pneumonoultramicroscopicsilicovolcanoconiosis";
        for (int i = 0; i < 40; ++i) long_words += "漢字かなカナ";
        return long_words + " " + std::string(300, '\t') + "end";
      }(),
  };
}

void ExpectParity(const std::string& encoding, const std::vector<std::string>& texts) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::Load(encoding);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  absl::StatusOr<std::vector<std::vector<int32_t>>> expected =
      testing::EncodeWithJsTiktoken(encoding, texts);
  ASSERT_TRUE(expected.ok()) << expected.status();
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> ids;
    ASSERT_TRUE((*tokenizer)->Encode(texts[i], SpecialTokens::kAllow, &ids).ok());
    ASSERT_EQ(ids, (*expected)[i]) << encoding << " text " << i << ": " << texts[i].substr(0, 200);
    std::string decoded;
    ASSERT_TRUE((*tokenizer)->Decode(ids, &decoded).ok());
    EXPECT_EQ(decoded, texts[i]) << encoding << " text " << i;
  }
}

std::vector<std::string> BrownSample(int every) {
  absl::StatusOr<std::unique_ptr<DocumentReader>> reader = DocumentReader::Open({"brown"}, {});
  EXPECT_TRUE(reader.ok()) << reader.status();
  std::vector<std::string> texts;
  if (!reader.ok()) return texts;
  Document doc;
  for (int i = 0;; ++i) {
    absl::StatusOr<bool> more = (*reader)->Next(&doc);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    if (i % every == 0) texts.push_back(doc.text);
  }
  return texts;
}

TEST(TokenizerParity, LongPiecesMatchJsTiktoken) {
  ExpectParity("cl100k_base", LongRandomWords());
  ExpectParity("r50k_base", LongRandomWords());
}

TEST(TokenizerParity, Cl100kHardStringsMatchJsTiktoken) {
  ExpectParity("cl100k_base", HardStrings());
}
TEST(TokenizerParity, R50kHardStringsMatchJsTiktoken) { ExpectParity("r50k_base", HardStrings()); }
TEST(TokenizerParity, O200kHardStringsMatchJsTiktoken) {
  ExpectParity("o200k_base", HardStrings());
}

TEST(TokenizerParity, Cl100kBrownSampleMatchesJsTiktoken) {
  const std::vector<std::string> sample = BrownSample(4);
  ASSERT_EQ(sample.size(), 125u);
  ExpectParity("cl100k_base", sample);
}

TEST(TokenizerParity, R50kBrownSampleMatchesJsTiktoken) {
  const std::vector<std::string> sample = BrownSample(5);
  ASSERT_EQ(sample.size(), 100u);
  ExpectParity("r50k_base", sample);
}

}  // namespace
}  // namespace flopwise::data
