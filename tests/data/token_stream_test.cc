// Shards and the TokenStream: round trips, end-of-text insertion, resume,
// shuffle determinism, llm.c and raw files, bad files.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <numeric>
#include <set>

#include "tests/data/test_support.h"
#include "worker/data/shard_writer.h"
#include "worker/data/token_stream.h"
#include "worker/data/window_order.h"

namespace flopwise::data {
namespace {

constexpr int32_t kEot = 99;

// Writes documents {0..n0-1}, {100..100+n1-1}, ... as one split in `dir`.
std::vector<std::vector<int32_t>> WriteSplit(const std::string& dir, int64_t shard_tokens,
                                             int64_t vocab_size = 1000, int32_t eot = kEot) {
  std::vector<std::vector<int32_t>> docs;
  const int lengths[] = {5, 1, 0, 9, 3, 7, 2, 8};
  for (int d = 0; d < 8; ++d) {
    std::vector<int32_t> doc(lengths[d]);
    std::iota(doc.begin(), doc.end(), 100 * (d + 1));
    docs.push_back(doc);
  }
  ShardWriterOptions options;
  options.dir = dir;
  options.split = "train";
  options.tokenizer = "test";
  options.vocab_size = vocab_size;
  options.n_vocab = vocab_size;
  options.eot_id = eot;
  options.shard_tokens = shard_tokens;
  auto writer = ShardWriter::Create(options);
  EXPECT_TRUE(writer.ok()) << writer.status();
  for (const auto& doc : docs) EXPECT_TRUE((*writer)->AddDocument(doc).ok());
  auto summary = (*writer)->Finish();
  EXPECT_TRUE(summary.ok()) << summary.status();
  return docs;
}

std::vector<int32_t> StreamTokens(const std::vector<std::vector<int32_t>>& docs) {
  std::vector<int32_t> tokens;
  for (const auto& doc : docs) {
    tokens.push_back(kEot);
    tokens.insert(tokens.end(), doc.begin(), doc.end());
  }
  return tokens;
}

std::unique_ptr<TokenStream> MustOpen(const std::string& path, int64_t length, bool shuffle,
                                      uint64_t seed = 7) {
  auto stream =
      TokenStream::Open(path, {.sequence_length = length, .seed = seed, .shuffle = shuffle});
  EXPECT_TRUE(stream.ok()) << stream.status();
  return stream.ok() ? std::move(*stream) : nullptr;
}

std::vector<std::vector<int32_t>> Read(TokenStream& stream, int64_t length, int count) {
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < count; ++i) {
    std::vector<int32_t> seq(length + 1);
    EXPECT_TRUE(stream.NextSequence(seq).ok());
    out.push_back(seq);
  }
  return out;
}

TEST(TokenStream, ShardRoundTripInsertsEndOfTextBeforeEachDocument) {
  for (int64_t shard_tokens : {1000, 6}) {  // one shard; several shards
    testing::TempDir dir;
    const auto docs = WriteSplit(dir.path(), shard_tokens);
    const std::vector<int32_t> expected = StreamTokens(docs);
    const int64_t length = 4;
    auto stream = MustOpen(dir.path(), length, /*shuffle=*/false);
    ASSERT_NE(stream, nullptr);
    EXPECT_EQ(stream->vocab_size(), 1000);
    EXPECT_EQ(stream->tokenizer_name(), "test");
    const int64_t windows = (static_cast<int64_t>(expected.size()) - 1) / length;
    const auto seqs = Read(*stream, length, static_cast<int>(windows) + 1);
    for (int64_t w = 0; w < windows; ++w) {
      const std::vector<int32_t> want(expected.begin() + w * length,
                                      expected.begin() + w * length + length + 1);
      EXPECT_EQ(seqs[w], want) << "window " << w << " shard_tokens " << shard_tokens;
    }
    EXPECT_EQ(seqs[windows], seqs[0]) << "the second epoch starts over";
  }
}

TEST(TokenStream, SeekResumesExactly) {
  testing::TempDir dir;
  WriteSplit(dir.path(), 6);
  auto first = MustOpen(dir.path(), 3, /*shuffle=*/true);
  ASSERT_NE(first, nullptr);
  Read(*first, 3, 13);
  const uint64_t position = first->position();
  const auto continued = Read(*first, 3, 40);
  auto second = MustOpen(dir.path(), 3, /*shuffle=*/true);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->Seek(position).ok());
  EXPECT_EQ(Read(*second, 3, 40), continued);
}

TEST(TokenStream, ShuffleIsASeededPermutationPerEpoch) {
  testing::TempDir dir;
  const auto docs = WriteSplit(dir.path(), 1000);
  const int64_t length = 2;
  const int windows = static_cast<int>((StreamTokens(docs).size() - 1) / length);
  auto a = MustOpen(dir.path(), length, true, 1);
  auto b = MustOpen(dir.path(), length, true, 1);
  auto c = MustOpen(dir.path(), length, true, 2);
  auto in_order = MustOpen(dir.path(), length, false);
  const auto seq_a = Read(*a, length, 2 * windows);
  EXPECT_EQ(seq_a, Read(*b, length, 2 * windows));
  EXPECT_NE(seq_a, Read(*c, length, 2 * windows));
  const auto ordered = Read(*in_order, length, windows);
  std::set<std::vector<int32_t>> all(ordered.begin(), ordered.end());
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<std::vector<int32_t>> seen(seq_a.begin() + epoch * windows,
                                        seq_a.begin() + (epoch + 1) * windows);
    EXPECT_EQ(seen, all) << "epoch " << epoch << " visits every window once";
  }
  EXPECT_NE(std::vector(seq_a.begin(), seq_a.begin() + windows), ordered);
  EXPECT_NE(std::vector(seq_a.begin(), seq_a.begin() + windows),
            std::vector(seq_a.begin() + windows, seq_a.end()));
}

TEST(WindowOrder, EveryEpochIsAPermutation) {
  for (uint64_t windows : {1u, 2u, 3u, 7u, 64u, 1000u, 4097u}) {
    for (uint64_t seed : {0u, 1u, 12345u}) {
      std::vector<bool> seen(windows, false);
      for (uint64_t step = 2 * windows; step < 3 * windows; ++step) {
        const uint64_t w = WindowAt(step, windows, seed, /*shuffle=*/true);
        ASSERT_LT(w, windows);
        EXPECT_FALSE(seen[w]) << "window " << w << " twice (windows " << windows << ")";
        seen[w] = true;
      }
    }
  }
  EXPECT_EQ(WindowAt(5, 4, 9, /*shuffle=*/false), 1u);
}

TEST(TokenStream, ReadsLlmcShards) {
  testing::TempDir dir;
  std::vector<int32_t> header(256, 0);
  header[0] = 20240520;
  header[1] = 1;
  header[2] = 10;
  std::string bytes(reinterpret_cast<const char*>(header.data()), 1024);
  for (uint16_t t = 0; t < 10; ++t) {
    const uint16_t id = 50000 + t;
    bytes.append(reinterpret_cast<const char*>(&id), 2);
  }
  testing::WriteFile(dir.File("train_000.bin"), bytes);
  auto stream = MustOpen(dir.File("train_000.bin"), 4, false);
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->vocab_size(), 0);
  EXPECT_EQ(Read(*stream, 4, 1)[0], (std::vector<int32_t>{50000, 50001, 50002, 50003, 50004}));
  EXPECT_EQ(Read(*stream, 4, 1)[0], (std::vector<int32_t>{50004, 50005, 50006, 50007, 50008}));

  testing::WriteFile(dir.File("short.bin"), bytes.substr(0, bytes.size() - 2));
  auto truncated = TokenStream::Open(dir.File("short.bin"), {.sequence_length = 4});
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("truncated or corrupt llm.c shard"),
            std::string::npos)
      << truncated.status();
}

TEST(TokenStream, ReadsRawTokenFiles) {
  testing::TempDir dir;
  const uint16_t u16[] = {1, 2, 3, 65535};
  const uint32_t u32[] = {7, 8, 100000, 9};
  testing::WriteFile(dir.File("t.u16"), std::string(reinterpret_cast<const char*>(u16), 8));
  testing::WriteFile(dir.File("t.bin"), std::string(reinterpret_cast<const char*>(u32), 16));
  auto a = MustOpen(dir.File("t.u16"), 3, false);
  auto b = MustOpen(dir.File("t.bin"), 3, false);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Read(*a, 3, 1)[0], (std::vector<int32_t>{1, 2, 3, 65535}));
  EXPECT_EQ(Read(*b, 3, 1)[0], (std::vector<int32_t>{7, 8, 100000, 9}));
  testing::WriteFile(dir.File("odd.u32"), "abcdef");
  auto odd = TokenStream::Open(dir.File("odd.u32"), {.sequence_length = 1});
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("not a whole number of 4-byte tokens"), std::string::npos);
}

TEST(TokenStream, BadFilesGiveClearErrors) {
  testing::TempDir dir;
  WriteSplit(dir.File("split"), 1000);
  std::ifstream in(dir.File("split/shard-000000.tok"), std::ios::binary);
  const std::string shard((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  testing::WriteFile(dir.File("cut.tok"), shard.substr(0, shard.size() - 12));
  std::string foreign = shard;
  foreign[0] = 'X';
  testing::WriteFile(dir.File("foreign.tok"), foreign);
  testing::WriteFile(dir.File("notes.txt"), "hello");
  std::string small_vocab = shard;  // vocab_size 200: ids 300+ are out of range
  const uint64_t vocab = 200;
  std::memcpy(small_vocab.data() + 32, &vocab, 8);
  testing::WriteFile(dir.File("small_vocab.tok"), small_vocab);

  const std::pair<std::string, std::string> cases[] = {
      {dir.File("cut.tok"), "truncated or corrupt"},
      {dir.File("foreign.tok"), "unknown token file"},
      {dir.File("notes.txt"), "unknown token file"},
      {dir.File("missing.tok"), "no such file"},
      {dir.path(), "needs a manifest.json"},
  };
  for (const auto& [path, message] : cases) {
    auto stream = TokenStream::Open(path, {.sequence_length = 2});
    ASSERT_FALSE(stream.ok()) << path;
    EXPECT_NE(stream.status().message().find(message), std::string::npos) << stream.status();
  }
  auto too_long = TokenStream::Open(dir.File("split"), {.sequence_length = 1000});
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kFailedPrecondition);

  auto stream = MustOpen(dir.File("small_vocab.tok"), 8, false);
  ASSERT_NE(stream, nullptr);
  std::vector<int32_t> seq(9);
  absl::Status status = absl::OkStatus();
  for (int i = 0; i < 5 && status.ok(); ++i) status = stream->NextSequence(seq);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("is beyond the vocabulary (200)"), std::string::npos) << status;

  std::vector<int32_t> wrong_size(3);
  EXPECT_EQ(stream->NextSequence(wrong_size).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ShardWriter, RejectsIdsOutsideTheVocabulary) {
  testing::TempDir dir;
  ShardWriterOptions options;
  options.dir = dir.path();
  options.tokenizer = "test";
  options.vocab_size = 10;
  auto writer = ShardWriter::Create(options);
  ASSERT_TRUE(writer.ok());
  const std::vector<int32_t> ids = {1, 2, 10};
  const absl::Status status = (*writer)->AddDocument(ids);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("token id 10 at position 2"), std::string::npos) << status;
}

TEST(ShardWriter, WideVocabulariesUseUint32Tokens) {
  testing::TempDir dir;
  const auto docs = WriteSplit(dir.path(), 1000, /*vocab_size=*/100280, kEot);
  std::ifstream in(dir.File("manifest.json"));
  const std::string manifest((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  EXPECT_NE(manifest.find("\"token_width\": 4"), std::string::npos) << manifest;
  auto stream = MustOpen(dir.path(), 10, false);
  ASSERT_NE(stream, nullptr);
  const std::vector<int32_t> expected = StreamTokens(docs);
  EXPECT_EQ(Read(*stream, 10, 1)[0], std::vector<int32_t>(expected.begin(), expected.begin() + 11));
}

}  // namespace
}  // namespace flopwise::data
