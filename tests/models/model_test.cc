// Whole-model behaviour of the four architectures on the CPU backend:
// initial loss, finite-difference gradients, learning a fixed batch.
#include "models/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "tests/models/model_test_util.h"

namespace flopwise::models {
namespace {

class ModelTest : public ::testing::TestWithParam<Arch> {
 protected:
  void SetUp() override { backend_ = kernels::MakeCpuBackend(1); }

  std::unique_ptr<Model> Make(const ModelConfig& config, int batch, uint64_t seed) {
    auto model = Model::Create(config, batch, backend_.get());
    EXPECT_TRUE(model.ok()) << model.status();
    Rng rng(seed);
    (*model)->InitParams(&rng);
    return std::move(*model);
  }

  std::unique_ptr<kernels::Backend> backend_;
};

std::string ArchParamName(const ::testing::TestParamInfo<Arch>& info) {
  return std::string(ArchName(info.param));
}

TEST_P(ModelTest, InitialLossIsNearLogVocab) {
  const ModelConfig c = TinyConfig(GetParam(), 500, 32);
  auto model = Make(c, 4, 7);
  const auto inputs = RandomTokens(4 * 32, c.vocab, 1);
  const auto targets = RandomTokens(4 * 32, c.vocab, 2);
  const double loss = model->Forward(inputs.data(), targets.data());
  EXPECT_NEAR(loss, std::log(500.0), 0.1);
}

// Directional derivative of the mean loss along, per tensor, u = unit(ĝ + r)
// (ĝ the unit computed gradient, r a random unit vector): central differences
// against ⟨∇ℓ, u⟩ for every tensor of §12.
TEST_P(ModelTest, GradientsMatchFiniteDifferences) {
  const ModelConfig c = TinyConfig(GetParam());
  const int batch = 2;
  auto model = Make(c, batch, 11);
  // Move away from the symmetric init so every tensor has a sizeable gradient.
  Rng rng(3);
  for (const TensorSpec& t : model->tensors()) {
    float* p = model->params() + t.offset;
    for (int64_t i = 0; i < t.numel(); ++i) p[i] += rng.NextNormal(0.05f);
  }
  const int64_t n = int64_t{batch} * c.context;
  const auto inputs = RandomTokens(n, c.vocab, 5);
  const auto targets = RandomTokens(n, c.vocab, 6);
  model->ZeroGrads();
  model->ForwardBackward(inputs.data(), targets.data(), 1.0f / n);
  const double eps = 1e-3;
  for (const TensorSpec& t : model->tensors()) {
    const float* g = model->grads() + t.offset;
    float* p = model->params() + t.offset;
    std::vector<double> u(t.numel());
    double g_norm = 0, r_norm = 0;
    for (int64_t i = 0; i < t.numel(); ++i) g_norm += double(g[i]) * g[i];
    g_norm = std::sqrt(g_norm);
    std::vector<double> r(t.numel());
    for (double& x : r) {
      x = rng.NextNormal(1.0f);
      r_norm += x * x;
    }
    r_norm = std::sqrt(r_norm);
    double u_norm = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      u[i] = (g_norm > 0 ? g[i] / g_norm : 0.0) + r[i] / r_norm;
      u_norm += u[i] * u[i];
    }
    u_norm = std::sqrt(u_norm);
    double analytic = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      u[i] /= u_norm;
      analytic += double(g[i]) * u[i];
    }
    std::vector<float> saved(p, p + t.numel());
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = saved[i] + float(eps * u[i]);
    const double plus = model->Forward(inputs.data(), targets.data());
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = saved[i] - float(eps * u[i]);
    const double minus = model->Forward(inputs.data(), targets.data());
    std::copy(saved.begin(), saved.end(), p);
    const double numeric = (plus - minus) / (2 * eps);
    EXPECT_NEAR(numeric, analytic, 1e-2 * std::abs(analytic) + 2e-5)
        << t.name << " |g| = " << g_norm;
  }
}

TEST_P(ModelTest, OverfitsOneBatch) {
  const ModelConfig c = TinyConfig(GetParam(), 97, 16);
  const int batch = 2;
  auto model = Make(c, batch, 13);
  const int64_t n = int64_t{batch} * c.context;
  const auto inputs = RandomTokens(n, c.vocab, 21);
  const auto targets = RandomTokens(n, c.vocab, 22);
  AdamWOptions adam;
  adam.weight_decay = 0.0f;
  double first = 0, last = 0;
  for (int step = 1; step <= 80; ++step) {
    model->ZeroGrads();
    last = model->ForwardBackward(inputs.data(), targets.data(), 1.0f / n);
    if (step == 1) first = last;
    model->AdamWStep(adam, 1e-2f, step, 1.0f);
  }
  EXPECT_NEAR(first, std::log(97.0), 0.2);
  EXPECT_LT(last, 0.5) << "first loss " << first;
}

TEST_P(ModelTest, SameSeedGivesSameLoss) {
  const ModelConfig c = TinyConfig(GetParam());
  auto a = Make(c, 2, 99);
  auto b = Make(c, 2, 99);
  auto other = Make(c, 2, 100);
  const auto inputs = RandomTokens(32, c.vocab, 1);
  const auto targets = RandomTokens(32, c.vocab, 2);
  const double la = a->Forward(inputs.data(), targets.data());
  EXPECT_EQ(la, b->Forward(inputs.data(), targets.data()));
  EXPECT_NE(la, other->Forward(inputs.data(), targets.data()));
}

INSTANTIATE_TEST_SUITE_P(AllArchs, ModelTest,
                         ::testing::Values(Arch::kLlama, Arch::kTnl, Arch::kHgrn2, Arch::kCos2),
                         ArchParamName);

TEST(ModelCreate, RejectsBadConfig) {
  auto backend = kernels::MakeCpuBackend(1);
  ModelConfig c = TinyConfig(Arch::kTnl);
  c.heads = 5;
  auto model = Model::Create(c, 2, backend.get());
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "d_model: must be divisible by heads (5)");
  EXPECT_FALSE(Model::Create(TinyConfig(Arch::kTnl), 0, backend.get()).ok());
}

}  // namespace
}  // namespace flopwise::models
