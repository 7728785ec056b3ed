// Safetensors files, model weights I/O and `check`.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "kernels/backend.h"
#include "models/model.h"
#include "tests/train/train_test_util.h"
#include "worker/train/check.h"
#include "worker/train/model_io.h"
#include "worker/train/safetensors.h"

namespace flopwise::train {
namespace {

TEST(Safetensors, RoundTripsTensorsAndMetadata) {
  const std::string dir = MakeTempDir("st");
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1.0f};
  const std::vector<float> b = {42.0f};
  ASSERT_TRUE(WriteSafetensors(dir + "/x.safetensors",
                               {{"a", {2, 3}, a.data()}, {"b", {1}, b.data()}}, {{"arch", "tnl"}})
                  .ok());
  auto file = SafetensorsFile::Read(dir + "/x.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata().at("arch"), "tnl");
  EXPECT_EQ(file->entries().at("a").shape, (std::vector<int64_t>{2, 3}));
  std::vector<float> read;
  ASSERT_TRUE(file->ReadFloats("a", &read).ok());
  EXPECT_EQ(read, a);
  ASSERT_TRUE(file->ReadFloats("b", &read).ok());
  EXPECT_EQ(read, b);
  EXPECT_TRUE(absl::IsNotFound(file->ReadFloats("c", &read)));
  // The header length is little-endian and the data starts 8-byte aligned.
  std::ifstream in(dir + "/x.safetensors", std::ios::binary);
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(std::filesystem::file_size(dir + "/x.safetensors"), 8 + header_len + 7 * 4);
}

TEST(Safetensors, RejectsTruncatedAndMissingFiles) {
  const std::string dir = MakeTempDir("st-bad");
  const std::vector<float> a(100, 1.0f);
  ASSERT_TRUE(WriteSafetensors(dir + "/x.safetensors", {{"a", {100}, a.data()}}, {}).ok());
  std::filesystem::resize_file(dir + "/x.safetensors",
                               std::filesystem::file_size(dir + "/x.safetensors") - 4);
  auto file = SafetensorsFile::Read(dir + "/x.safetensors");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("truncated"), std::string_view::npos);
  EXPECT_TRUE(absl::IsNotFound(SafetensorsFile::Read(dir + "/nope.safetensors").status()));
}

// A checkpoint's weights evaluated by `check` give the loss the model
// computes directly; the gradient file holds exactly the §12 tensors.
TEST(Check, RoundTripsACheckpoint) {
  const std::string dir = MakeTempDir("check");
  auto backend = kernels::MakeCpuBackend(1);
  models::ModelConfig c;
  c.arch = models::Arch::kCos2;
  c.layers = 2;
  c.d_model = 32;
  c.heads = 2;
  c.ffn_dim = 64;
  c.vocab = 50;
  c.context = 8;
  models::FillDerivedFields(&c);
  auto model = models::Model::Create(c, 3, backend.get());
  ASSERT_TRUE(model.ok());
  models::Rng rng(5);
  (*model)->InitParams(&rng);
  // Give TPE's B (zero at init) a value so its path is exercised.
  const models::TensorSpec* tpe = (*model)->FindTensor("tpe.B");
  ASSERT_NE(tpe, nullptr);
  for (int64_t i = 0; i < tpe->numel(); ++i) (*model)->params()[tpe->offset + i] = 0.01f * (i % 5);
  ASSERT_TRUE(WriteArenas(**model, {{Arena::kParams, ""}}, dir + "/w.safetensors").ok());

  models::Rng token_rng(8);
  std::vector<uint32_t> rows(3 * 9);
  for (uint32_t& id : rows) id = static_cast<uint32_t>(token_rng.NextU64() % 50);
  std::ofstream(dir + "/t.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(rows.data()), rows.size() * 4);
  std::vector<int32_t> inputs, targets;
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 8; ++i) {
      inputs.push_back(rows[r * 9 + i]);
      targets.push_back(rows[r * 9 + i + 1]);
    }
  }
  const double direct = (*model)->Forward(inputs.data(), targets.data());

  CheckOptions o{dir + "/w.safetensors", dir + "/t.bin", 3, 8, dir + "/g.safetensors", 1};
  auto loss = RunCheck(o);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_NEAR(*loss, direct, 1e-6 * direct);
  auto grads = SafetensorsFile::Read(dir + "/g.safetensors");
  ASSERT_TRUE(grads.ok());
  EXPECT_EQ(grads->entries().size(), (*model)->tensors().size());
  EXPECT_EQ(grads->entries().at("embed.weight").shape, (std::vector<int64_t>{50, 32}));
  EXPECT_EQ(grads->entries().at("layers.1.mixer.gate_down.weight").shape,
            (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(grads->metadata().at("arch"), "cos2");
  std::vector<float> g;
  ASSERT_TRUE(grads->ReadFloats("tpe.B", &g).ok());
  double norm = 0;
  for (float x : g) norm += x * x;
  EXPECT_GT(norm, 0.0);
}

TEST(Check, BadInputsNameTheProblem) {
  const std::string dir = MakeTempDir("check-bad");
  auto backend = kernels::MakeCpuBackend(1);
  models::ModelConfig c;
  c.arch = models::Arch::kHgrn2;
  c.layers = 2;
  c.d_model = 32;
  c.heads = 2;
  c.ffn_dim = 64;
  c.vocab = 10;
  c.context = 4;
  models::FillDerivedFields(&c);
  auto model = models::Model::Create(c, 1, backend.get());
  ASSERT_TRUE(model.ok());
  models::Rng rng(1);
  (*model)->InitParams(&rng);
  ASSERT_TRUE(WriteArenas(**model, {{Arena::kParams, ""}}, dir + "/w.safetensors").ok());
  const std::vector<uint32_t> ids = {1, 2, 3, 4, 11};  // 11 ≥ vocab
  std::ofstream(dir + "/t.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(ids.data()), ids.size() * 4);

  CheckOptions o{dir + "/w.safetensors", dir + "/t.bin", 1, 4, "", 1};
  auto beyond = RunCheck(o);
  ASSERT_FALSE(beyond.ok());
  EXPECT_NE(beyond.status().message().find("id 11"), std::string_view::npos);

  o.context = 5;  // file too short for 1 × 6 ids
  EXPECT_NE(RunCheck(o).status().message().find("expected batch"), std::string_view::npos);

  // A weights file of another shape: drop one layer's tensor.
  auto file = SafetensorsFile::Read(dir + "/w.safetensors");
  ASSERT_TRUE(file.ok());
  std::vector<std::vector<float>> storage;
  std::vector<TensorRef> refs;
  for (const auto& [name, entry] : file->entries()) {
    if (name == "layers.1.mixer.f.weight") continue;
    storage.emplace_back();
    ASSERT_TRUE(file->ReadFloats(name, &storage.back()).ok());
  }
  size_t k = 0;
  for (const auto& [name, entry] : file->entries()) {
    if (name == "layers.1.mixer.f.weight") continue;
    refs.push_back({name, entry.shape, storage[k++].data()});
  }
  ASSERT_TRUE(WriteSafetensors(dir + "/w2.safetensors", refs, file->metadata()).ok());
  const std::vector<uint32_t> ok_ids = {1, 2, 3, 4, 5};
  std::ofstream(dir + "/t2.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(ok_ids.data()), ok_ids.size() * 4);
  CheckOptions missing{dir + "/w2.safetensors", dir + "/t2.bin", 1, 4, "", 1};
  auto result = RunCheck(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("missing tensor 'layers.1.mixer.f.weight'"),
            std::string_view::npos)
      << result.status();
}

}  // namespace
}  // namespace flopwise::train
