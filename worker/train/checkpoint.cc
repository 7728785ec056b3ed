#include "worker/train/checkpoint.h"

#include <openssl/evp.h>
#include <unistd.h>
#include <cstdlib>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "worker/train/model_io.h"

namespace flopwise::train {
namespace fs = std::filesystem;

namespace {

constexpr char kModelFile[] = "model.safetensors";
constexpr char kOptimizerFile[] = "optimizer.safetensors";
constexpr char kStateFile[] = "state.json";

absl::Status WriteState(const std::string& path, const TrainState& state) {
  nlohmann::json j = {{"format", 1},
                      {"step", state.step},
                      {"tokens", state.tokens},
                      {"loss", state.loss},
                      {"data_position", state.data_position},
                      {"rng_state", state.rng_state},
                      {"precision", state.precision}};
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(2) << "\n";
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

absl::Status ReadState(const std::string& path, TrainState* state) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": missing"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  for (const char* key : {"step", "tokens", "data_position", "rng_state"}) {
    if (!j.contains(key)) return absl::InvalidArgumentError(absl::StrCat(path, ": no '", key, "'"));
  }
  if (!j["rng_state"].is_array() || j["rng_state"].size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": rng_state must hold 4 integers"));
  }
  state->step = j["step"].get<int64_t>();
  state->tokens = j["tokens"].get<int64_t>();
  state->loss = j.value("loss", 0.0);
  state->precision = j.value("precision", std::string("fp32"));  // older checkpoints: fp32
  state->data_position = j["data_position"].get<uint64_t>();
  for (int i = 0; i < 4; ++i) state->rng_state[i] = j["rng_state"][i].get<uint64_t>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof(buffer));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx, buffer, static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += absl::StrFormat("%02x", digest[i]);
  return hex;
}

absl::StatusOr<WrittenCheckpoint> WriteCheckpoint(const std::string& run_dir, models::Model& model,
                                                  const TrainState& state) {
  const std::string name = absl::StrFormat("step-%08d", state.step);
  const fs::path final_dir = fs::path(run_dir) / name;
  const fs::path temp_dir = fs::path(run_dir) / absl::StrCat(".tmp-", name, "-", getpid());
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  fs::remove_all(temp_dir, ec);
  if (!fs::create_directories(temp_dir, ec)) {
    return absl::InternalError(absl::StrCat(temp_dir.string(), ": cannot create: ", ec.message()));
  }
  const std::string model_path = (temp_dir / kModelFile).string();
  if (absl::Status s = WriteArenas(model, {{Arena::kParams, ""}}, model_path); !s.ok()) return s;
  if (absl::Status s = WriteArenas(model, {{Arena::kAdamM, "adam_m."}, {Arena::kAdamV, "adam_v."}},
                                   (temp_dir / kOptimizerFile).string());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteState((temp_dir / kStateFile).string(), state); !s.ok()) return s;
  auto sha = Sha256File(model_path);
  if (!sha.ok()) return sha.status();
  fs::remove_all(final_dir, ec);
  fs::rename(temp_dir, final_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("renaming ", temp_dir.string(), " to ",
                                            final_dir.string(), ": ", ec.message()));
  }
  return WrittenCheckpoint{final_dir.string(), *sha};
}

std::optional<std::string> FindLatestCheckpoint(const std::string& run_dir,
                                                std::optional<int64_t> at_most) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return std::nullopt;
  std::optional<std::string> best;
  std::string best_name;
  for (const fs::directory_entry& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !entry.is_directory()) continue;
    if (!fs::exists(entry.path() / kStateFile)) continue;
    if (at_most && std::strtoll(name.c_str() + 5, nullptr, 10) > *at_most) continue;
    // Zero-padded names sort like their step numbers.
    if (!best || name.size() > best_name.size() ||
        (name.size() == best_name.size() && name > best_name)) {
      best = entry.path().string();
      best_name = name;
    }
  }
  return best;
}

absl::StatusOr<FileLock> LockRunDir(const std::string& run_dir, absl::Duration wait) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("--out ", run_dir, ": cannot create it: ", ec.message()));
  }
  absl::StatusOr<FileLock> lock =
      FileLock::Acquire((fs::path(run_dir) / "trainer.lock").string(), wait);
  if (lock.ok() || !absl::IsUnavailable(lock.status())) {
    if (!lock.ok())
      return absl::FailedPreconditionError(
          absl::StrCat("--out ", run_dir, ": ", lock.status().message()));
    return lock;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "--out ", run_dir, ": another flopwise-train (", lock.status().message(),
      ") still writes this run folder after ", absl::FormatDuration(wait),
      "; a trainer of an earlier attempt that has not stopped yet, or two runs given one folder"));
}

absl::Status PruneCheckpoints(const std::string& run_dir, int keep) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) == 0 && entry.is_directory() &&
        fs::exists(entry.path() / kStateFile)) {
      names.push_back(name);
    }
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot list ", run_dir, ": ", ec.message()));
  // Zero-padded names sort like their step numbers; longer means larger.
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  for (size_t i = 0; i + keep < names.size(); ++i) {
    fs::remove_all(fs::path(run_dir) / names[i], ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "cannot remove ", (fs::path(run_dir) / names[i]).string(), ": ", ec.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status LoadCheckpoint(const std::string& dir, models::Model* model, TrainState* state) {
  auto weights = SafetensorsFile::Read((fs::path(dir) / kModelFile).string());
  if (!weights.ok()) return absl::InvalidArgumentError(weights.status().message());
  auto config = ConfigFromMetadata(*weights, model->config().context);
  if (!config.ok()) return config.status();
  if (ModelMetadata(*config) != ModelMetadata(model->config())) {
    return absl::InvalidArgumentError(
        absl::StrCat(weights->path(), ": checkpoint holds ", weights->metadata().at("arch"), " ",
                     weights->metadata().at("config"), " but the flags describe ",
                     std::string(models::ArchName(model->config().arch)), " ",
                     ModelMetadata(model->config()).at("config")));
  }
  if (absl::Status s = ReadArena(*weights, "", Arena::kParams, model); !s.ok()) return s;
  auto optimizer = SafetensorsFile::Read((fs::path(dir) / kOptimizerFile).string());
  if (!optimizer.ok()) return absl::InvalidArgumentError(optimizer.status().message());
  if (absl::Status s = ReadArena(*optimizer, "adam_m.", Arena::kAdamM, model); !s.ok()) return s;
  if (absl::Status s = ReadArena(*optimizer, "adam_v.", Arena::kAdamV, model); !s.ok()) return s;
  return ReadState((fs::path(dir) / kStateFile).string(), state);
}

}  // namespace flopwise::train
