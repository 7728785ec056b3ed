// Whole-model behaviour of the four architectures and their flag variants on
// the CPU backend: initial loss, finite-difference gradients, learning a fixed
// batch, and what each flag changes.
#include "models/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "tests/models/model_test_util.h"

namespace flopwise::models {
namespace {

std::unique_ptr<Model> MakeModel(const ModelConfig& config, int batch, uint64_t seed,
                                 kernels::Backend* backend) {
  auto model = Model::Create(config, batch, backend);
  EXPECT_TRUE(model.ok()) << model.status();
  Rng rng(seed);
  (*model)->InitParams(&rng);
  return std::move(*model);
}

// Adds N(0, std²) noise to every parameter (moves away from the symmetric init
// so every tensor has a sizeable gradient).
void Perturb(Model* model, float std, uint64_t seed) {
  Rng rng(seed);
  for (const TensorSpec& t : model->tensors()) {
    float* p = model->params() + t.offset;
    for (int64_t i = 0; i < t.numel(); ++i) p[i] += rng.NextNormal(std);
  }
}

// Copies every tensor of `from` that `to` has under the same name and shape.
void CopySharedTensors(Model& from, Model* to) {
  for (const TensorSpec& t : from.tensors()) {
    const TensorSpec* dst = to->FindTensor(t.name);
    if (dst == nullptr || dst->shape != t.shape) continue;
    std::copy_n(from.params() + t.offset, t.numel(), to->params() + dst->offset);
  }
}

// rms(a - b) / rms(b) over one tensor's gradient in two models.
double GradRelError(Model& a, Model& b, const std::string& name) {
  const TensorSpec* ta = a.FindTensor(name);
  const TensorSpec* tb = b.FindTensor(name);
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < tb->numel(); ++i) {
    const double x = a.grads()[ta->offset + i], y = b.grads()[tb->offset + i];
    diff += (x - y) * (x - y);
    ref += y * y;
  }
  return ref > 0 ? std::sqrt(diff / ref) : std::sqrt(diff);
}

class ModelTest : public ::testing::TestWithParam<ModelVariant> {
 protected:
  void SetUp() override { backend_ = kernels::MakeCpuBackend(1); }

  std::unique_ptr<Model> Make(const ModelConfig& config, int batch, uint64_t seed) {
    return MakeModel(config, batch, seed, backend_.get());
  }

  std::unique_ptr<kernels::Backend> backend_;
};

std::string VariantParamName(const ::testing::TestParamInfo<ModelVariant>& info) {
  return info.param.name;
}

TEST_P(ModelTest, InitialLossIsNearLogVocab) {
  const ModelConfig c = GetParam().Config(500, 32);
  auto model = Make(c, 4, 7);
  const auto inputs = RandomTokens(4 * 32, c.vocab, 1);
  const auto targets = RandomTokens(4 * 32, c.vocab, 2);
  const double loss = model->Forward(inputs.data(), targets.data());
  EXPECT_NEAR(loss, std::log(500.0), 0.1);
}

// Directional derivative of the mean loss along, per tensor, u = unit(ĝ + r)
// (ĝ the unit computed gradient, r a random unit vector): central differences
// against ⟨∇ℓ, u⟩ for every tensor of §12. The model computes in fp32; the
// directions, the difference quotient and ⟨∇ℓ, u⟩ are formed in double (the
// fp64 finite-difference check of the same flags is the PyTorch reference's
// self-test, tests/reference). Every tensor must have a non-zero gradient, so a
// parameter the forward pass ignores fails here.
TEST_P(ModelTest, GradientsMatchFiniteDifferences) {
  const ModelConfig c = GetParam().Config();
  const int batch = 2;
  auto model = Make(c, batch, 11);
  Perturb(model.get(), 0.05f, 3);
  Rng rng(4);
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
    EXPECT_GT(g_norm, 0.0) << t.name;
    EXPECT_NEAR(numeric, analytic, 1e-2 * std::abs(analytic) + 2e-5)
        << t.name << " |g| = " << g_norm;
  }
}

TEST_P(ModelTest, OverfitsOneBatch) {
  const ModelConfig c = GetParam().Config(97, 16);
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
  const ModelConfig c = GetParam().Config();
  auto a = Make(c, 2, 99);
  auto b = Make(c, 2, 99);
  auto other = Make(c, 2, 100);
  const auto inputs = RandomTokens(32, c.vocab, 1);
  const auto targets = RandomTokens(32, c.vocab, 2);
  const double la = a->Forward(inputs.data(), targets.data());
  EXPECT_EQ(la, b->Forward(inputs.data(), targets.data()));
  EXPECT_NE(la, other->Forward(inputs.data(), targets.data()));
}

// The ranges ForwardBackward reports as final: each layer's tensors from the
// last layer to the first, then those after the layers, then the embedding;
// together the whole arena once; and each one final when reported: its
// contents then equal its contents after the pass (a second micro-step, so
// that the pass adds to gradients already there).
TEST_P(ModelTest, GradsFinalRangesCoverTheArenaAndAreFinalWhenReported) {
  const ModelConfig c = GetParam().Config();
  const int batch = 2;
  auto model = Make(c, batch, 17);
  Perturb(model.get(), 0.05f, 8);
  const int64_t n = int64_t{batch} * c.context;
  const auto inputs = RandomTokens(n, c.vocab, 9);
  const auto targets = RandomTokens(n, c.vocab, 10);
  model->ZeroGrads();
  model->ForwardBackward(inputs.data(), targets.data(), 1.0f / n);
  struct Reported {
    int64_t offset, count;
    std::vector<float> contents;
  };
  std::vector<Reported> reported;
  model->ForwardBackward(inputs.data(), targets.data(), 1.0f / n,
                         [&](int64_t offset, int64_t count) {
                           const float* g = model->grads() + offset;
                           reported.push_back({offset, count, std::vector<float>(g, g + count)});
                         });

  // The expected ranges from the tensor names: layer l's tensors start with
  // "layers.l.", the embedding comes first in the arena.
  auto layer_range = [&](int l) {
    const std::string prefix = "layers." + std::to_string(l) + ".";
    int64_t begin = model->arena_floats(), end = 0;
    for (const TensorSpec& t : model->tensors()) {
      if (t.name.rfind(prefix, 0) != 0) continue;
      begin = std::min(begin, t.offset);
      end = std::max(end, t.offset + t.numel());
    }
    return std::pair<int64_t, int64_t>{begin, end - begin};
  };
  std::vector<std::pair<int64_t, int64_t>> expected;
  for (int l = c.layers - 1; l >= 0; --l) expected.push_back(layer_range(l));
  const int64_t layers_end = layer_range(c.layers - 1).first + layer_range(c.layers - 1).second;
  if (layers_end < model->arena_floats()) {
    expected.emplace_back(layers_end, model->arena_floats() - layers_end);
  }
  expected.emplace_back(0, layer_range(0).first);
  std::vector<std::pair<int64_t, int64_t>> got;
  for (const Reported& r : reported) got.emplace_back(r.offset, r.count);
  EXPECT_EQ(got, expected);
  int64_t covered = 0;
  for (const auto& [offset, count] : got) covered += count;
  EXPECT_EQ(covered, model->arena_floats());

  for (const Reported& r : reported) {
    const float* g = model->grads() + r.offset;
    EXPECT_TRUE(std::equal(r.contents.begin(), r.contents.end(), g))
        << "grads [" << r.offset << ", " << r.offset + r.count << ") changed after reported final";
  }
}

INSTANTIATE_TEST_SUITE_P(AllVariants, ModelTest, ::testing::ValuesIn(AllModelVariants()),
                         VariantParamName);

// norm_affine adds exactly the §12 gains (d each, 2L+1 of them) to a linear
// model; with every gain at 1 it computes what the SRMSNorm model computes,
// and the gains get a gradient of their own.
TEST(ModelFlags, NormAffineWithUnitGainsEqualsSrmsNorm) {
  auto backend = kernels::MakeCpuBackend(1);
  for (Arch arch : {Arch::kTnl, Arch::kHgrn2, Arch::kCos2}) {
    const std::string what(ArchName(arch));
    ModelConfig plain_config = TinyConfig(arch);
    ModelConfig affine_config = plain_config;
    affine_config.norm_affine = true;
    auto plain = MakeModel(plain_config, 2, 5, backend.get());
    auto affine = MakeModel(affine_config, 2, 6, backend.get());
    Perturb(plain.get(), 0.05f, 7);
    CopySharedTensors(*plain, affine.get());
    ASSERT_EQ(affine->tensors().size(), plain->tensors().size() + 2 * plain_config.layers + 1);
    for (const std::string name :
         {"layers.0.norm1.weight", "layers.2.norm2.weight", "norm_f.weight"}) {
      const TensorSpec* gain = affine->FindTensor(name);
      ASSERT_NE(gain, nullptr) << what << " " << name;
      EXPECT_EQ(gain->shape, std::vector<int64_t>{plain_config.d_model});
      EXPECT_FALSE(gain->weight_decay) << name;
      EXPECT_EQ(plain->FindTensor(name), nullptr) << name;
    }
    const int64_t n = 2 * plain_config.context;
    const auto inputs = RandomTokens(n, plain_config.vocab, 8);
    const auto targets = RandomTokens(n, plain_config.vocab, 9);
    plain->ZeroGrads();
    affine->ZeroGrads();
    const double plain_loss = plain->ForwardBackward(inputs.data(), targets.data(), 1.0f / n);
    const double affine_loss = affine->ForwardBackward(inputs.data(), targets.data(), 1.0f / n);
    EXPECT_NEAR(affine_loss, plain_loss, 1e-6 * plain_loss) << what;
    for (const TensorSpec& t : plain->tensors()) {
      EXPECT_LE(GradRelError(*affine, *plain, t.name), 1e-5) << what << " " << t.name;
    }
    const TensorSpec* gain = affine->FindTensor("layers.1.norm1.weight");
    double gain_grad = 0;
    for (int64_t i = 0; i < gain->numel(); ++i)
      gain_grad += std::abs(affine->grads()[gain->offset + i]);
    EXPECT_GT(gain_grad, 0.0) << what;
    // Gains away from 1 change the loss (the block norms are RMSNorm now).
    for (int64_t i = 0; i < gain->numel(); ++i) affine->params()[gain->offset + i] = 1.5f;
    EXPECT_GT(std::abs(affine->Forward(inputs.data(), targets.data()) - plain_loss),
              1e-4 * plain_loss)
        << what;
  }
}

// lrpe_variant xmixers drops the θ tensors and uses, in every layer and head,
// θ[c] = 10000^(-2c/D) for c < D/2 and 0 for the other half: the same model
// as the transnormer variant with its θ parameters set to those values (and
// the transnormer θ gradient is what the fixed variant leaves out).
TEST(ModelFlags, XmixersLrpeIsTheFixedHalfZeroTheta) {
  auto backend = kernels::MakeCpuBackend(1);
  const ModelConfig learned_config = TinyConfig(Arch::kCos2);
  ModelConfig fixed_config = learned_config;
  fixed_config.lrpe_variant = LrpeVariant::kXmixers;
  auto fixed = MakeModel(fixed_config, 2, 5, backend.get());
  auto learned = MakeModel(learned_config, 2, 6, backend.get());
  Perturb(fixed.get(), 0.05f, 7);
  CopySharedTensors(*fixed, learned.get());
  ASSERT_EQ(fixed->tensors().size() + learned_config.layers, learned->tensors().size());
  const int D = learned_config.head_dim;
  for (int l = 0; l < learned_config.layers; ++l) {
    const std::string name = "layers." + std::to_string(l) + ".mixer.theta";
    EXPECT_EQ(fixed->FindTensor(name), nullptr) << name;
    const TensorSpec* theta = learned->FindTensor(name);
    ASSERT_NE(theta, nullptr);
    for (int i = 0; i < learned_config.heads; ++i) {
      for (int c = 0; c < D; ++c) {
        learned->params()[theta->offset + i * D + c] =
            c < D / 2 ? static_cast<float>(std::pow(10000.0, -2.0 * c / D)) : 0.0f;
      }
    }
  }
  const int64_t n = 2 * learned_config.context;
  const auto inputs = RandomTokens(n, learned_config.vocab, 8);
  const auto targets = RandomTokens(n, learned_config.vocab, 9);
  fixed->ZeroGrads();
  learned->ZeroGrads();
  const double fixed_loss = fixed->ForwardBackward(inputs.data(), targets.data(), 1.0f / n);
  const double learned_loss = learned->ForwardBackward(inputs.data(), targets.data(), 1.0f / n);
  EXPECT_NEAR(fixed_loss, learned_loss, 1e-6 * learned_loss);
  for (const TensorSpec& t : fixed->tensors()) {
    EXPECT_LE(GradRelError(*fixed, *learned, t.name), 1e-5) << t.name;
  }
  // The default θ init differs from the xmixers angles, and so does the loss.
  auto reinit = MakeModel(learned_config, 2, 6, backend.get());
  CopySharedTensors(*fixed, reinit.get());
  EXPECT_GT(std::abs(reinit->Forward(inputs.data(), targets.data()) - fixed_loss),
            1e-4 * fixed_loss);
}

// v_act silu puts silu on TNL's value projection: same weights, another loss;
// other architectures ignore the flag.
TEST(ModelFlags, VActSiluChangesOnlyTnl) {
  auto backend = kernels::MakeCpuBackend(1);
  for (Arch arch : {Arch::kTnl, Arch::kHgrn2, Arch::kCos2}) {
    ModelConfig none_config = TinyConfig(arch);
    ModelConfig silu_config = none_config;
    silu_config.v_act = VAct::kSilu;
    auto none = MakeModel(none_config, 2, 5, backend.get());
    auto silu = MakeModel(silu_config, 2, 6, backend.get());
    Perturb(none.get(), 0.05f, 7);
    CopySharedTensors(*none, silu.get());
    ASSERT_EQ(silu->tensors().size(), none->tensors().size());
    const int64_t n = 2 * none_config.context;
    const auto inputs = RandomTokens(n, none_config.vocab, 8);
    const auto targets = RandomTokens(n, none_config.vocab, 9);
    const double none_loss = none->Forward(inputs.data(), targets.data());
    const double silu_loss = silu->Forward(inputs.data(), targets.data());
    if (arch == Arch::kTnl) {
      EXPECT_GT(std::abs(silu_loss - none_loss), 1e-4 * none_loss);
    } else {
      EXPECT_EQ(silu_loss, none_loss) << ArchName(arch);
    }
  }
}

// embed_scale multiplies X_0 by √d in every architecture: same weights (no
// tensor is added), another loss.
TEST(ModelFlags, EmbedScaleChangesEveryArchitecture) {
  auto backend = kernels::MakeCpuBackend(1);
  for (Arch arch : {Arch::kLlama, Arch::kTnl, Arch::kHgrn2, Arch::kCos2}) {
    ModelConfig plain_config = TinyConfig(arch);
    ModelConfig scaled_config = plain_config;
    scaled_config.embed_scale = true;
    auto plain = MakeModel(plain_config, 2, 5, backend.get());
    auto scaled = MakeModel(scaled_config, 2, 5, backend.get());
    Perturb(plain.get(), 0.05f, 7);
    Perturb(scaled.get(), 0.05f, 7);
    ASSERT_EQ(scaled->tensors().size(), plain->tensors().size());
    ASSERT_EQ(scaled->arena_floats(), plain->arena_floats());
    ASSERT_TRUE(
        std::equal(plain->params(), plain->params() + plain->arena_floats(), scaled->params()));
    const int64_t n = 2 * plain_config.context;
    const auto inputs = RandomTokens(n, plain_config.vocab, 8);
    const auto targets = RandomTokens(n, plain_config.vocab, 9);
    const double plain_loss = plain->Forward(inputs.data(), targets.data());
    const double scaled_loss = scaled->Forward(inputs.data(), targets.data());
    EXPECT_GT(std::abs(scaled_loss - plain_loss), 1e-4 * plain_loss) << ArchName(arch);
  }
}

TEST(ModelCreate, RejectsBadConfig) {
  auto backend = kernels::MakeCpuBackend(1);
  ModelConfig c = TinyConfig(Arch::kTnl);
  c.heads = 5;
  auto model = Model::Create(c, 2, backend.get());
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "d_model: must be divisible by heads (5)");
  EXPECT_FALSE(Model::Create(TinyConfig(Arch::kTnl), 0, backend.get()).ok());
}

// 8e11 parameters (13 TB with gradients and moments): refused before anything
// is allocated, saying what was asked and what the machine has.
TEST(ModelCreate, ALargerModelThanTheMemoryIsResourceExhausted) {
  auto backend = kernels::MakeCpuBackend(1);
  ModelConfig c = TinyConfig(Arch::kLlama);
  c.layers = 256;
  c.d_model = 16384;
  c.heads = 128;
  c.head_dim = 128;
  c.ffn_dim = 43690;
  ASSERT_TRUE(c.Validate().ok()) << c.Validate();
  auto model = Model::Create(c, 1, backend.get());
  ASSERT_FALSE(model.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(model.status())) << model.status();
  const std::string message(model.status().message());
  EXPECT_EQ(message.rfind("out of memory: the model needs ", 0), 0u) << message;
  EXPECT_NE(message.find(" GiB of memory, "), std::string::npos) << message;
}

TEST(ModelCreate, RefusesMoreTokensPerForwardThanAnInt) {
  auto backend = kernels::MakeCpuBackend(1);
  ModelConfig c = TinyConfig(Arch::kTnl);
  c.context = 1 << 20;
  auto model = Model::Create(c, 1 << 12, backend.get());
  ASSERT_FALSE(model.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(model.status())) << model.status();
  EXPECT_EQ(model.status().message().rfind("batch: 4096 sequences of 1048576 tokens", 0), 0u)
      << model.status();
}

}  // namespace
}  // namespace flopwise::models
