#include "worker/eval/needle.h"

#include <gtest/gtest.h>

#include "tests/eval/stand_in_model.h"
#include "worker/eval/heatmap.h"

namespace flopwise::eval {
namespace {

class NeedleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = data::Tokenizer::Load("byte");
    ASSERT_TRUE(loaded.ok());
    tokenizer_ = *std::move(loaded);
    std::string text;
    for (int i = 0; i < 400; ++i) {
      text += "Line " + std::to_string(i) + " of a long and quiet haystack.\n";
    }
    ASSERT_TRUE(tokenizer_->Encode(text, data::SpecialTokens::kAsText, &haystack_).ok());
    options_.lengths = {160, 320, 480};
    options_.depths = {0.0, 0.5, 1.0};
    options_.trials = 2;
    options_.seed = 3;
  }

  std::string Decode(const std::vector<int32_t>& ids) {
    std::vector<int32_t> text_ids;
    for (int32_t id : ids) {
      if (id != tokenizer_->eot_id()) text_ids.push_back(id);
    }
    std::string text;
    EXPECT_TRUE(tokenizer_->Decode(text_ids, &text).ok());
    return text;
  }

  std::unique_ptr<data::Tokenizer> tokenizer_;
  std::vector<int32_t> haystack_;
  NeedleOptions options_;
};

TEST_F(NeedleTest, CasesAreDeterministicForASeed) {
  for (NeedleMode mode : {NeedleMode::kEasy, NeedleMode::kStandard}) {
    auto a = BuildNeedleCases(mode, haystack_, *tokenizer_, options_, 1, 1);
    auto b = BuildNeedleCases(mode, haystack_, *tokenizer_, options_, 1, 1);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(a->size(), 2u);
    for (size_t i = 0; i < a->size(); ++i) {
      EXPECT_EQ((*a)[i].request.context, (*b)[i].request.context);
      EXPECT_EQ((*a)[i].answer, (*b)[i].answer);
      EXPECT_EQ((*a)[i].distractors, (*b)[i].distractors);
    }
  }
  NeedleOptions other = options_;
  other.seed = 4;
  auto a = BuildNeedleCases(NeedleMode::kStandard, haystack_, *tokenizer_, options_, 0, 0);
  auto c = BuildNeedleCases(NeedleMode::kStandard, haystack_, *tokenizer_, other, 0, 0);
  ASSERT_TRUE(a.ok() && c.ok());
  EXPECT_NE((*a)[0].request.context, (*c)[0].request.context);
}

TEST_F(NeedleTest, ACaseFillsItsLengthAndHidesTheNeedleAtItsDepth) {
  for (NeedleMode mode : {NeedleMode::kEasy, NeedleMode::kStandard}) {
    for (int i = 0; i < 3; ++i) {
      auto cases = BuildNeedleCases(mode, haystack_, *tokenizer_, options_, 2, i);
      ASSERT_TRUE(cases.ok()) << cases.status();
      for (const NeedleCase& c : *cases) {
        EXPECT_EQ(c.request.context.size() + c.request.continuation.size(), 480u + 1);
        EXPECT_EQ(Decode(c.request.continuation), " " + c.answer);
        EXPECT_EQ(c.distractors.size(), static_cast<size_t>(kNeedleDistractors));
        const std::string text = Decode(c.request.context);
        const size_t needle = text.find(c.answer);
        ASSERT_NE(needle, std::string::npos);
        // The question ends the context; in easy mode the needle repeats it.
        EXPECT_NE(text.rfind("\nQuestion: What is the special magic number? Answer:"),
                  std::string::npos);
        EXPECT_EQ(text.find("Question:") < needle, mode == NeedleMode::kEasy);
        const double position = static_cast<double>(needle) / text.size();
        EXPECT_NEAR(position, c.depth, 0.25) << NeedleModeName(mode) << " depth " << c.depth;
      }
    }
  }
}

TEST_F(NeedleTest, ALengthTooShortForTheNeedleIsAnError) {
  options_.lengths = {20};
  auto cases = BuildNeedleCases(NeedleMode::kStandard, haystack_, *tokenizer_, options_, 0, 0);
  ASSERT_FALSE(cases.ok());
  EXPECT_NE(cases.status().message().find("needle length 20"), std::string::npos);
}

// Right: the continuation's number is written in the context.
bool NumberInContext(const std::string& context, const std::string& continuation) {
  return context.find(continuation.substr(1)) != std::string::npos;
}

TEST_F(NeedleTest, AlwaysRightScoresTenEverywhere) {
  StandInModel right(tokenizer_.get(), NumberInContext, /*answers_right=*/true);
  for (NeedleMode mode : {NeedleMode::kEasy, NeedleMode::kStandard}) {
    auto result = RunNeedle(mode, haystack_, *tokenizer_, options_, &right);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->cases, 3 * 3 * 2);
    for (const auto& column : result->grid.scores) {
      for (double score : column) EXPECT_EQ(score, 10.0);
    }
    EXPECT_DOUBLE_EQ(result->weighted_average_accuracy, 1.0);
    EXPECT_DOUBLE_EQ(result->niah_score, 1.0);
    EXPECT_DOUBLE_EQ(result->accuracy_up_to_length.back(), 1.0);
  }
}

TEST_F(NeedleTest, NeverRightScoresZeroEverywhere) {
  StandInModel wrong(tokenizer_.get(), NumberInContext, /*answers_right=*/false);
  auto result = RunNeedle(NeedleMode::kStandard, haystack_, *tokenizer_, options_, &wrong);
  ASSERT_TRUE(result.ok()) << result.status();
  for (const auto& column : result->grid.scores) {
    for (double score : column) EXPECT_EQ(score, 0.0);
  }
  EXPECT_DOUBLE_EQ(result->weighted_average_accuracy, 0.0);
  EXPECT_DOUBLE_EQ(result->niah_score, 0.0);
  EXPECT_DOUBLE_EQ(result->accuracy_at_length[0], 0.0);
}

TEST_F(NeedleTest, HeatmapHasOneCellPerGridPoint) {
  NiahGrid grid;
  grid.lengths = {100, 200};
  grid.depths = {0.0, 0.5, 1.0};
  grid.scores = {{10, 5, 0}, {2.5, 7.5, 10}};
  const std::string svg = RenderNeedleHeatmapSvg(grid, "tnl <step 3>");
  size_t cells = 0;
  for (size_t at = svg.find("class=\"cell\""); at != std::string::npos;
       at = svg.find("class=\"cell\"", at + 1)) {
    ++cells;
  }
  EXPECT_EQ(cells, 6u);
  EXPECT_NE(svg.find("data-length=\"200\" data-depth=\"0.5\" data-score=\"7.5\""),
            std::string::npos);
  EXPECT_NE(svg.find("tnl &lt;step 3&gt;"), std::string::npos);
}

}  // namespace
}  // namespace flopwise::eval
