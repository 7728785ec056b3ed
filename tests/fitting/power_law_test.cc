#include "fitting/power_law.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace flopwise::fitting {
namespace {

TEST(PowerLaw, RecoversNoiseFreeLawExactly) {
  std::vector<double> x, y;
  for (int i = 0; i < 20; ++i) {
    x.push_back(std::pow(10.0, -1 + 0.2 * i));
    y.push_back(3.7087 * std::pow(x.back(), -0.0798));
  }
  auto fit = FitPowerLaw(x, y, "test");
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->exponent, -0.0798, 1e-10);
  EXPECT_NEAR(fit->coef / 3.7087, 1, 1e-10);
  EXPECT_NEAR(fit->r2_log, 1, 1e-12);
  EXPECT_LT(fit->rms_log, 1e-10);
}

TEST(PowerLaw, NoisyLawWithinTolerance) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 0.01);
  std::vector<double> x, y;
  for (int i = 0; i < 200; ++i) {
    x.push_back(std::pow(10.0, 18 + 6.0 * i / 199));
    y.push_back(1.82e8 * std::pow(x.back() / 8.64e19, 0.7118) * std::exp(noise(rng)));
  }
  auto fit = FitPowerLaw(x, y, "test");
  ASSERT_TRUE(fit.ok()) << fit.status();
  // Standard error of the slope is about 0.01 / (sd(log x) * sqrt(200)) ~ 4e-4.
  EXPECT_NEAR(fit->exponent, 0.7118, 2e-3);
  EXPECT_NEAR(fit->rms_log, 0.01, 2e-3);
}

TEST(PowerLaw, RejectsTooFewPoints) {
  const std::vector<double> x = {1}, y = {2};
  auto fit = FitPowerLaw(x, y, "L(C)");
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(fit.status().message().find("at least 2 points for 2 parameters"), std::string::npos)
      << fit.status();
}

TEST(PowerLaw, RejectsNonPositiveValues) {
  const std::vector<double> x = {1, 2, 3}, y = {2, -1, 3};
  auto fit = FitPowerLaw(x, y, "L(C)");
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("point 1"), std::string::npos) << fit.status();
}

TEST(PowerLaw, RejectsConstantData) {
  const std::vector<double> x = {1, 2, 3}, same = {2, 2, 2};
  auto all_y_equal = FitPowerLaw(x, same, "L(C)");
  ASSERT_FALSE(all_y_equal.ok());
  EXPECT_NE(all_y_equal.status().message().find("all y values are equal"), std::string::npos);
  auto all_x_equal = FitPowerLaw(same, x, "L(C)");
  ASSERT_FALSE(all_x_equal.ok());
  EXPECT_NE(all_x_equal.status().message().find("all x values are equal"), std::string::npos);
}

}  // namespace
}  // namespace flopwise::fitting
