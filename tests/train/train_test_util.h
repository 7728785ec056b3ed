// Helpers for the trainer tests: temporary directories, token files and an
// event sink that records every event.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/rng.h"
#include "worker/train/trainer.h"

namespace flopwise::train {

inline std::string MakeTempDir(const std::string& tag) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("flopwise-" + tag + "-XXXXXX")).string();
  return mkdtemp(pattern.data());
}

// Writes `count` uint32 ids: a repeating pattern with noise, so a model can
// learn something.
inline std::string WriteTokenFile(const std::string& dir, int64_t count, int vocab, uint64_t seed) {
  models::Rng rng(seed);
  std::vector<uint32_t> ids(count);
  for (int64_t i = 0; i < count; ++i) {
    ids[i] = rng.NextUniform() < 0.8 ? static_cast<uint32_t>(i % 7 + 3)
                                     : static_cast<uint32_t>(rng.NextU64() % vocab);
  }
  const std::string path = dir + "/tokens.u32";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(ids.data()), ids.size() * 4);
  return path;
}

class RecordingSink final : public EventSink {
 public:
  void Emit(const nlohmann::json& event) override { events.push_back(event); }
  std::vector<nlohmann::json> Of(const std::string& kind) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : events) {
      if (e["event"] == kind) out.push_back(e);
    }
    return out;
  }
  std::vector<nlohmann::json> events;
};

// A small TNL run: 64-token sequences, 4 sequences per step.
inline TrainOptions TinyRun(const std::string& data, const std::string& out) {
  TrainOptions o;
  o.model.arch = "tnl";
  o.model.preset = "cpu-1";
  o.model.vocab = 64;
  o.model.context = 32;
  o.data = data;
  o.batch_tokens = 128;
  o.total_tokens = 128 * 8;
  o.lr = 3e-3;
  o.checkpoint_every_tokens = 0;
  o.log_every_steps = 1;
  o.out = out;
  o.threads = 1;
  return o;
}

}  // namespace flopwise::train
