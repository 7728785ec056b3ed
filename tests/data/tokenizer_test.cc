// Tokenizer behaviour that needs no peer: vocabularies, special tokens, bad
// input, ranks files that do not parse.
#include <gtest/gtest.h>

#include "tests/data/test_support.h"
#include "worker/data/ranks_file.h"
#include "worker/data/tokenizer.h"

namespace flopwise::data {
namespace {

std::unique_ptr<Tokenizer> MustLoad(const std::string& name) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::Load(name);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? std::move(*tokenizer) : nullptr;
}

TEST(Tokenizer, Cl100kVocabularyPadsTo100280) {
  auto tokenizer = MustLoad("cl100k_base");
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->n_vocab(), 100277);
  EXPECT_EQ(tokenizer->padded_vocab(), 100280);
  EXPECT_EQ(tokenizer->eot_id(), 100257);
}

TEST(Tokenizer, R50kAndGpt2ShareRanks) {
  auto r50k = MustLoad("r50k_base");
  auto gpt2 = MustLoad("gpt2");
  ASSERT_NE(r50k, nullptr);
  ASSERT_NE(gpt2, nullptr);
  EXPECT_EQ(r50k->n_vocab(), 50257);
  std::vector<int32_t> a, b;
  ASSERT_TRUE(r50k->Encode("The quick brown fox's den", SpecialTokens::kReject, &a).ok());
  ASSERT_TRUE(gpt2->Encode("The quick brown fox's den", SpecialTokens::kReject, &b).ok());
  EXPECT_EQ(a, b);
}

TEST(Tokenizer, ByteTokenizerRoundTripsAndMarksEndOfText) {
  auto tokenizer = MustLoad("byte");
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->n_vocab(), 257);
  EXPECT_EQ(tokenizer->padded_vocab(), 264);
  std::vector<int32_t> ids;
  ASSERT_TRUE(tokenizer->Encode("é<|endoftext|>a", SpecialTokens::kAllow, &ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{0xC3, 0xA9, 256, 'a'}));
  std::string text;
  ASSERT_TRUE(tokenizer->Decode(ids, &text).ok());
  EXPECT_EQ(text, "é<|endoftext|>a");
}

TEST(Tokenizer, SpecialTokenPolicies) {
  auto tokenizer = MustLoad("cl100k_base");
  ASSERT_NE(tokenizer, nullptr);
  const std::string text = "a<|endoftext|>b";
  std::vector<int32_t> allowed, as_text, rejected;
  ASSERT_TRUE(tokenizer->Encode(text, SpecialTokens::kAllow, &allowed).ok());
  EXPECT_EQ(allowed.size(), 3u);
  EXPECT_EQ(allowed[1], 100257);
  ASSERT_TRUE(tokenizer->Encode(text, SpecialTokens::kAsText, &as_text).ok());
  EXPECT_GT(as_text.size(), 3u);
  EXPECT_EQ(std::count(as_text.begin(), as_text.end(), 100257), 0);
  const absl::Status status = tokenizer->Encode(text, SpecialTokens::kReject, &rejected);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("<|endoftext|> at byte offset 1"), std::string::npos) << status;
}

TEST(Tokenizer, InvalidUtf8IsReportedWithOffset) {
  auto tokenizer = MustLoad("cl100k_base");
  ASSERT_NE(tokenizer, nullptr);
  std::vector<int32_t> ids;
  const absl::Status status = tokenizer->Encode(
      "abc\xff"
      "def",
      SpecialTokens::kAsText, &ids);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("invalid UTF-8 at byte offset 3"), std::string::npos) << status;
}

TEST(Tokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  auto tokenizer = MustLoad("cl100k_base");
  ASSERT_NE(tokenizer, nullptr);
  std::string text;
  for (int32_t bad : {100277, 100261, -1}) {
    const std::vector<int32_t> ids = {9906, bad};
    const absl::Status status = tokenizer->Decode(ids, &text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("at position 1"), std::string::npos) << status;
  }
}

TEST(Tokenizer, VeryLongPiecesRoundTrip) {
  auto tokenizer = MustLoad("cl100k_base");
  ASSERT_NE(tokenizer, nullptr);
  std::string text;
  for (int i = 0; text.size() < (256u << 10); ++i) text += static_cast<char>('a' + (i * 7) % 26);
  text += std::string(100000, ' ') + "x";
  std::vector<int32_t> ids;
  ASSERT_TRUE(tokenizer->Encode(text, SpecialTokens::kReject, &ids).ok());
  EXPECT_LT(ids.size(), text.size());
  std::string decoded;
  ASSERT_TRUE(tokenizer->Decode(ids, &decoded).ok());
  EXPECT_EQ(decoded, text);
}

TEST(Tokenizer, UnknownNameListsKnownOnes) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::Load("p99k");
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_NE(tokenizer.status().message().find("cl100k_base"), std::string::npos);
}

TEST(RanksFile, ParsesStandardFormat) {
  absl::StatusOr<RankedTokens> ranks = ParseRanks("YQ== 0\nYg== 1\nYWI= 2\n", "test");
  ASSERT_TRUE(ranks.ok()) << ranks.status();
  EXPECT_EQ(*ranks, (RankedTokens{"a", "b", "ab"}));
}

TEST(RanksFile, BadFilesGiveLineAndReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"YQ== 0\n!!!! 1\n", "test:2: token is not valid base64"},
      {"YQ== 0\nYg==\n", "test:2: expected '<base64 token> <rank>'"},
      {"YQ== 0\nYg== x\n", "test:2: rank 'x' is not a number"},
      {"YQ== 0\nYg== 0\n", "test:2: duplicate rank 0"},
      {"YQ== 0\nYQ== 1\n", "test:2: duplicate token"},
      {"YQ== 0\nYg== 2\n", "test: rank 1 is missing"},
      {"", "test: no ranks"},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<RankedTokens> ranks = ParseRanks(text, "test");
    ASSERT_FALSE(ranks.ok()) << text;
    EXPECT_EQ(ranks.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(ranks.status().message().find(message), std::string::npos) << ranks.status();
  }
}

TEST(RanksFile, RanksWithoutEveryByteAreRejected) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("tiny.tiktoken"), "YQ== 0\nYg== 1\n");
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::LoadFromFile("cl100k_base", dir.File("tiny.tiktoken"));
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_NE(tokenizer.status().message().find("no token for the single byte 0"), std::string::npos)
      << tokenizer.status();
}

}  // namespace
}  // namespace flopwise::data
