// Corpora: Brown detokenization, user files, folders and JSONL, UTF-8 checks,
// the deterministic train/validation split, and PrepareDataset end to end.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/data/test_support.h"
#include "worker/data/brown.h"
#include "worker/data/corpus.h"
#include "worker/data/prepare.h"
#include "worker/data/token_stream.h"

namespace flopwise::data {
namespace {

std::vector<Document> ReadAll(const std::vector<std::string>& inputs, CorpusOptions options,
                              absl::Status* status) {
  std::vector<Document> docs;
  auto reader = DocumentReader::Open(inputs, options);
  if (!reader.ok()) {
    *status = reader.status();
    return docs;
  }
  Document doc;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&doc);
    if (!more.ok()) {
      *status = more.status();
      return docs;
    }
    if (!*more) break;
    docs.push_back(doc);
  }
  *status = absl::OkStatus();
  return docs;
}

TEST(Brown, DetokenizesTaggedText) {
  const std::string tagged =
      "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, in/in Atlanta's/np$ "
      "(/( 1961/cd )/) Jr./np ./.\n\n\n\tIt/pps was/bedz n't/* over/rp ?/.\n";
  EXPECT_EQ(DetokenizeBrown(tagged),
            "The jury said \"no evidence\", in Atlanta's (1961) Jr.\nIt was n't over?\n");
}

TEST(Brown, BundledCorpusHas500Documents) {
  absl::Status status;
  const auto docs = ReadAll({"brown"}, {}, &status);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(docs.size(), 500u);
  EXPECT_EQ(docs.front().id, "brown/ca01");
  EXPECT_EQ(docs.front().text.substr(0, 40), "The Fulton County Grand Jury said Friday");
  for (const auto& doc : docs) {
    EXPECT_EQ(doc.text.find("/nn"), std::string::npos) << doc.id << ": a tag survived";
    EXPECT_EQ(doc.text.find("``"), std::string::npos) << doc.id << ": a quote survived";
  }
}

TEST(Corpus, ReadsFilesFoldersAndJsonl) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("folder/sub"));
  testing::WriteFile(dir.File("folder/b.txt"), "second");
  testing::WriteFile(dir.File("folder/a.txt"), "first");
  testing::WriteFile(dir.File("folder/sub/empty.txt"), "");
  testing::WriteFile(dir.File("docs.jsonl"),
                     "{\"text\": \"one\"}\n\n{\"text\": \"two\", \"x\": 1}\n");
  absl::Status status;
  const auto docs = ReadAll({dir.File("folder"), dir.File("docs.jsonl")}, {}, &status);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[0].text, "first");
  EXPECT_EQ(docs[1].text, "second");
  EXPECT_EQ(docs[2].text, "one");
  EXPECT_EQ(docs[3].text, "two");
  EXPECT_EQ(docs[0].id, "a.txt");
  EXPECT_EQ(docs[3].id, "docs.jsonl:3");
}

TEST(Corpus, BadInputNamesFileAndPlace) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("bad.txt"), "good text\xC3(");
  testing::WriteFile(dir.File("bad.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"a\xFF\"}\n");
  testing::WriteFile(dir.File("field.jsonl"), "{\"body\": \"ok\"}\n");
  testing::WriteFile(dir.File("notjson.jsonl"), "[1, 2]\n");
  const std::pair<std::string, std::string> cases[] = {
      {dir.File("bad.txt"), "bad.txt: invalid UTF-8 at byte offset 9"},
      {dir.File("bad.jsonl"), "bad.jsonl: invalid UTF-8 at byte offset 26"},
      {dir.File("field.jsonl"), "field.jsonl:1: field 'text' missing or not a string"},
      {dir.File("notjson.jsonl"), "notjson.jsonl:1: not a JSON object"},
      {dir.File("absent.txt"), "no such file or folder"},
  };
  for (const auto& [path, message] : cases) {
    absl::Status status;
    ReadAll({path}, {}, &status);
    ASSERT_FALSE(status.ok()) << path;
    EXPECT_NE(status.message().find(message), std::string::npos) << status;
  }
  absl::Status status;
  const auto replaced = ReadAll({dir.File("bad.txt")}, {.replace_invalid = true}, &status);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(replaced[0].text, "good text\xEF\xBF\xBD(");
}

TEST(Corpus, ValidationSplitIsDeterministicByDocument) {
  int held_out = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "doc-" + std::to_string(i);
    EXPECT_EQ(InValidationSplit(id, 0.1), InValidationSplit(id, 0.1));
    EXPECT_FALSE(InValidationSplit(id, 0.0));
    held_out += InValidationSplit(id, 0.1);
  }
  EXPECT_GT(held_out, 140);
  EXPECT_LT(held_out, 260);
}

TEST(Prepare, WritesStreamableSplitsAndRejectsEmptyInput) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("text"));
  for (int i = 0; i < 40; ++i) {
    testing::WriteFile(dir.File("text/doc" + std::to_string(i) + ".txt"),
                       "Document number " + std::to_string(i) + " says hello.\n");
  }
  PrepareOptions options;
  options.tokenizer = "byte";
  options.inputs = {dir.File("text")};
  options.out_dir = dir.File("out");
  options.validation_fraction = 0.25;
  options.threads = 2;
  auto summary = PrepareDataset(options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->train.documents + summary->validation.documents, 40);
  EXPECT_GT(summary->validation.documents, 0);
  EXPECT_EQ(summary->vocab_size, 264);
  auto stream = TokenStream::Open(dir.File("out"), {.sequence_length = 16, .shuffle = false});
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->tokenizer_name(), "byte");
  std::vector<int32_t> seq(17);
  ASSERT_TRUE((*stream)->NextSequence(seq).ok());
  EXPECT_EQ(seq[0], 256) << "a document starts after <|endoftext|>";
  EXPECT_EQ(std::string(seq.begin() + 1, seq.begin() + 17), "Document number ");
  auto validation =
      TokenStream::Open(dir.File("out/validation"), {.sequence_length = 16, .shuffle = false});
  EXPECT_TRUE(validation.ok()) << validation.status();

  testing::WriteFile(dir.File("empty.txt"), "");
  options.inputs = {dir.File("empty.txt")};
  options.out_dir = dir.File("out-empty");
  auto empty = PrepareDataset(options);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no text"), std::string::npos) << empty.status();
}

}  // namespace
}  // namespace flopwise::data
