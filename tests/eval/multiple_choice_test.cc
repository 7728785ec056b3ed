#include "worker/eval/multiple_choice.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/eval/stand_in_model.h"
#include "worker/eval/continuation_task.h"

namespace flopwise::eval {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("flopwise-eval-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

TEST(MultipleChoiceTest, AccPicksTheHighestLogLikelihood) {
  EXPECT_EQ(AccOf({-3.0, -1.0, -2.0}, 1), 1.0);
  EXPECT_EQ(AccOf({-3.0, -1.0, -2.0}, 2), 0.0);
  // Ties go to the first choice, as numpy's argmax.
  EXPECT_EQ(AccOf({-1.0, -1.0}, 0), 1.0);
  EXPECT_EQ(AccOf({-1.0, -1.0}, 1), 0.0);
}

TEST(MultipleChoiceTest, AccNormDividesByTheChoiceLengthInCharacters) {
  // Raw: choice 0 wins (-4 > -6); per character: -4/2 = -2 < -6/6 = -1, choice 1 wins.
  const std::vector<std::string> choices = {"ab", "abcdef"};
  EXPECT_EQ(AccOf({-4.0, -6.0}, 0), 1.0);
  EXPECT_EQ(AccNormOf({-4.0, -6.0}, choices, 1), 1.0);
  EXPECT_EQ(AccNormOf({-4.0, -6.0}, choices, 0), 0.0);
  // Characters, not bytes: "éé" is two characters (four bytes): -4/2 = -2 < -1.5.
  EXPECT_EQ(CharacterCount("\xc3\xa9\xc3\xa9"), 2);
  EXPECT_EQ(AccNormOf({-4.0, -6.0}, {"\xc3\xa9\xc3\xa9", "abcd"}, 1), 1.0);
}

TEST(MultipleChoiceTest, TaskFileRoundTrip) {
  const std::string path = TempPath("round-trip.jsonl");
  const std::vector<McDocument> docs = {{"The cat", {"sat.", "flew.", "sang."}, 0},
                                        {"Two plus two is", {"five", "four"}, 1}};
  ASSERT_TRUE(WriteMcTaskFile(docs, path).ok());
  auto read = ReadMcTaskFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].context, "Two plus two is");
  EXPECT_EQ((*read)[1].choices, (std::vector<std::string>{"five", "four"}));
  EXPECT_EQ((*read)[1].gold, 1);
  std::filesystem::remove(path);
}

TEST(MultipleChoiceTest, AMissingTaskFileNamesItsPath) {
  const std::string path = "/nonexistent/flopwise/task.jsonl";
  auto read = ReadMcTaskFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
}

TEST(MultipleChoiceTest, ABadLineNamesThePathAndLine) {
  const std::string path = TempPath("bad.jsonl");
  std::ofstream(path) << R"({"query": "a", "choices": ["x", "y"], "gold": 0})"
                      << "\n"
                      << R"({"query": "b", "choices": ["x", "y"], "gold": 5})"
                      << "\n";
  auto read = ReadMcTaskFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find(path + ":2"), std::string::npos) << read.status();
  std::filesystem::remove(path);
}

// A small corpus: documents of numbered sentences, one per line.
std::vector<data::Document> SyntheticCorpus() {
  std::vector<data::Document> corpus;
  for (int d = 0; d < 6; ++d) {
    data::Document doc;
    doc.id = "doc" + std::to_string(d);
    for (int s = 0; s < 12; ++s) {
      doc.text +=
          "Document " + std::to_string(d) + " says sentence number " + std::to_string(s) + ".\n";
    }
    corpus.push_back(doc);
  }
  return corpus;
}

TEST(ContinuationTaskTest, DeterministicForASeed) {
  ContinuationTaskOptions o;
  o.documents = 20;
  o.seed = 7;
  auto a = MakeContinuationTask(SyntheticCorpus(), o);
  auto b = MakeContinuationTask(SyntheticCorpus(), o);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), 20u);
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].context, (*b)[i].context);
    EXPECT_EQ((*a)[i].choices, (*b)[i].choices);
    EXPECT_EQ((*a)[i].gold, (*b)[i].gold);
  }
  o.seed = 8;
  auto c = MakeContinuationTask(SyntheticCorpus(), o);
  ASSERT_TRUE(c.ok());
  bool differs = false;
  for (size_t i = 0; i < a->size(); ++i) differs |= (*a)[i].context != (*c)[i].context;
  EXPECT_TRUE(differs);
}

TEST(ContinuationTaskTest, TheGoldChoiceFollowsTheContextInItsDocument) {
  ContinuationTaskOptions o;
  o.documents = 30;
  auto task = MakeContinuationTask(SyntheticCorpus(), o);
  ASSERT_TRUE(task.ok());
  std::set<int> gold_positions;
  for (const McDocument& doc : *task) {
    ASSERT_EQ(doc.choices.size(), 4u);
    gold_positions.insert(doc.gold);
    // "Document d says sentence number s." is followed by s + 1 of the same d.
    const std::string last = doc.context.substr(doc.context.rfind("Document"));
    const std::string document = last.substr(0, last.find(" says"));
    const int s = std::stoi(last.substr(last.find("number ") + 7));
    EXPECT_EQ(doc.choices[doc.gold],
              document + " says sentence number " + std::to_string(s + 1) + ".");
    for (int i = 0; i < 4; ++i) {
      if (i != doc.gold) {
        EXPECT_EQ(doc.choices[i].find(document + " "), std::string::npos);
      }
    }
  }
  EXPECT_GT(gold_positions.size(), 1u);  // the gold position is drawn, not fixed
}

TEST(ContinuationTaskTest, StandInsScoreAllOrNothing) {
  auto tokenizer = data::Tokenizer::Load("byte");
  ASSERT_TRUE(tokenizer.ok());
  ContinuationTaskOptions o;
  o.documents = 25;
  auto task = MakeContinuationTask(SyntheticCorpus(), o);
  ASSERT_TRUE(task.ok());
  std::map<std::string, std::string> gold_after;  // context -> " " + its gold choice
  for (const McDocument& doc : *task) gold_after[doc.context] = " " + doc.choices[doc.gold];
  const auto is_gold = [&](const std::string& context, const std::string& continuation) {
    return gold_after.at(context) == continuation;
  };
  StandInModel right(tokenizer->get(), is_gold, /*answers_right=*/true);
  StandInModel wrong(tokenizer->get(), is_gold, /*answers_right=*/false);
  auto good = ScoreMultipleChoice("synthetic", *task, **tokenizer, &right);
  auto bad = ScoreMultipleChoice("synthetic", *task, **tokenizer, &wrong);
  ASSERT_TRUE(good.ok() && bad.ok());
  EXPECT_EQ(good->documents, 25);
  EXPECT_DOUBLE_EQ(good->acc, 1.0);
  EXPECT_DOUBLE_EQ(good->acc_norm, 1.0);
  EXPECT_DOUBLE_EQ(bad->acc, 0.0);
  EXPECT_DOUBLE_EQ(bad->acc_norm, 0.0);
}

TEST(ContinuationTaskTest, BrownTaskIsDeterministic) {
  ContinuationTaskOptions o;
  o.documents = 50;
  auto a = MakeBrownContinuationTask(o);
  auto b = MakeBrownContinuationTask(o);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(a->size(), 50u);
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].context, (*b)[i].context);
    EXPECT_EQ((*a)[i].choices, (*b)[i].choices);
    EXPECT_EQ((*a)[i].gold, (*b)[i].gold);
  }
}

}  // namespace
}  // namespace flopwise::eval
