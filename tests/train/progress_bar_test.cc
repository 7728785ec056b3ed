// The human progress line of flopwise-train (its pieces are tested in
// tests/base/text_format_test.cc).
#include "worker/train/progress_bar.h"

#include <gtest/gtest.h>

namespace flopwise::train {
namespace {

TEST(ProgressBar, LineShowsFractionStepTokensLossRateAndEta) {
  ProgressLine p;
  p.step = 17;
  p.tokens = 250000;
  p.total_tokens = 1000000;
  p.loss = 3.14159;
  p.tokens_per_s = 5000;
  EXPECT_EQ(FormatProgressLine(p, 8),
            "[##......]  25%  step 17  250.00k/1.00M tok  loss 3.1416  5.00k tok/s  ETA 2m30s");
}

TEST(ProgressBar, EtaIsUnknownWithoutThroughputAndTheBarNeverOverflows) {
  ProgressLine p;
  p.step = 3;
  p.tokens = 2000;
  p.total_tokens = 1000;  // a resumed run may report past a shortened budget
  p.loss = 1;
  EXPECT_EQ(FormatProgressLine(p, 4),
            "[####] 100%  step 3  2.00k/1.00k tok  loss 1.0000  0 tok/s  ETA ?");
  p.total_tokens = 0;
  EXPECT_EQ(FormatProgressLine(p, 4),
            "[....]   0%  step 3  2.00k/0 tok  loss 1.0000  0 tok/s  ETA ?");
}

TEST(ProgressBar, ShowsTheNewestValidationLossOnceThereIsOne) {
  ProgressLine p;
  p.step = 17;
  p.tokens = 250000;
  p.total_tokens = 1000000;
  p.loss = 3.14159;
  p.tokens_per_s = 5000;
  p.validation_loss = 3.25;
  EXPECT_EQ(FormatProgressLine(p, 8),
            "[##......]  25%  step 17  250.00k/1.00M tok  loss 3.1416  val 3.2500  5.00k tok/s  "
            "ETA 2m30s");
}

}  // namespace
}  // namespace flopwise::train
