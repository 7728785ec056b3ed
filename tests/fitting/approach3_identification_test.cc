#include "fitting/approach3_identification.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "fitting/report.h"

namespace flopwise::fitting {
namespace {

// An approach-3 fit with tight intervals around E 1.5, A 30, B 400, α 0.4,
// β 0.3 and `resamples` bootstrap draws that all succeeded.
ArchFit Identified(int resamples = 10) {
  ArchFit f;
  f.arch = "llama";
  f.has_approach3 = true;
  f.coefs.fill(NAN);
  auto set = [&](Coef c, double v, double lo, double hi) {
    f.coefs[c] = v;
    f.intervals[c] = {lo, hi, true};
  };
  set(kE, 1.5, 1.2, 1.7);
  set(kA, 30, 10, 90);
  set(kB, 400, 100, 2000);
  set(kAlpha, 0.4, 0.3, 0.5);
  set(kBeta, 0.3, 0.25, 0.35);
  for (int i = 0; i < resamples; ++i) f.draws.push_back(f.coefs);
  return f;
}

TEST(Approach3Identification, TightIntervalsAreIdentified) {
  const Approach3Identification id = IdentifyApproach3(Identified());
  EXPECT_EQ(id.verdict, Approach3Verdict::kIdentified) << id.reason;
  EXPECT_EQ(Approach3NotIdentifiedText(id), "");
}

TEST(Approach3Identification, NoBootstrapOrNoFitIsNotChecked) {
  EXPECT_EQ(IdentifyApproach3(Identified(0)).verdict, Approach3Verdict::kNotChecked);
  ArchFit f = Identified();
  f.has_approach3 = false;
  EXPECT_EQ(IdentifyApproach3(f).verdict, Approach3Verdict::kNotChecked);
}

TEST(Approach3Identification, ELowerEndAtZeroIsNotIdentified) {
  ArchFit f = Identified();
  f.intervals[kE].lo = 1e-19;
  const Approach3Identification id = IdentifyApproach3(f);
  EXPECT_EQ(id.verdict, Approach3Verdict::kNotIdentified);
  EXPECT_NE(id.reason.find("E's interval reaches 0"), std::string::npos) << id.reason;
  EXPECT_EQ(Approach3NotIdentifiedText(id).rfind("approach 3 is not identified by this data (", 0),
            0u);
}

TEST(Approach3Identification, AstronomicalOrMissingIntervalsAreNotIdentified) {
  ArchFit f = Identified();
  f.intervals[kA].hi = 1e198;
  Approach3Identification id = IdentifyApproach3(f);
  EXPECT_EQ(id.verdict, Approach3Verdict::kNotIdentified);
  EXPECT_NE(id.reason.find("A's interval spans 197 decades"), std::string::npos) << id.reason;

  f = Identified();
  f.intervals[kBeta].hi = INFINITY;
  f.intervals[kB].valid = false;
  id = IdentifyApproach3(f);
  EXPECT_EQ(id.verdict, Approach3Verdict::kNotIdentified);
  EXPECT_NE(id.reason.find("no finite interval for B, beta"), std::string::npos) << id.reason;
}

TEST(Approach3Identification, MostResamplesFailingIsNotIdentified) {
  ArchFit f = Identified(10);
  for (int i = 0; i < 6; ++i) f.draws[i][kE] = NAN;
  const Approach3Identification id = IdentifyApproach3(f);
  EXPECT_EQ(id.verdict, Approach3Verdict::kNotIdentified);
  EXPECT_NE(id.reason.find("failed in 6 of 10 bootstrap resamples"), std::string::npos)
      << id.reason;
  f.draws[0][kE] = 1.5;  // 5 of 10: half may fail
  EXPECT_EQ(IdentifyApproach3(f).verdict, Approach3Verdict::kIdentified);
}

TEST(Approach3Identification, FitTextPrintsTheVerdictInsteadOfIntervals) {
  FitReport report;
  report.bootstrap_resamples = 10;
  report.methods = kApproach3;
  ArchFit f = Identified();
  report.archs.push_back(f);
  std::string text = FitReportText(report, nullptr);
  EXPECT_EQ(text.find("not identified"), std::string::npos) << text;
  EXPECT_NE(text.find("E 1.5 [1.2, 1.7]"), std::string::npos) << text;

  report.archs[0].intervals[kE].lo = 0;
  text = FitReportText(report, nullptr);
  EXPECT_NE(text.find("approach 3 is not identified by this data (E's interval reaches 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("E 1.5  A 30"), std::string::npos) << text;
  EXPECT_EQ(text.find("[1.2"), std::string::npos) << text;
  EXPECT_NE(FitReportJson(report, nullptr).find("\"identified\": false"), std::string::npos);
}

}  // namespace
}  // namespace flopwise::fitting
