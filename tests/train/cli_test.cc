// The flopwise-train executable: stdout protocol and exit codes.

#include <gtest/gtest.h>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "base/file_lock.h"
#include "runspec/proto_json.h"
#include "tests/run_command.h"
#include "tests/train/train_test_util.h"
#include "tests/train/weights_edit.h"
#include "worker/train/safetensors.h"

namespace flopwise::train {
namespace {

namespace v1 = ::flopwise::v1;

using Result = ::flopwise::testing::CommandResult;
using ::flopwise::testing::RunCommand;

Result RunTrainBinary(const std::string& args) {
  return RunCommand(std::string(FLOPWISE_TRAIN_BIN) + " " + args + " 2>/dev/null");
}

TEST(FlopwiseTrainCli, UsageErrorsExit2) {
  EXPECT_EQ(RunTrainBinary("--no-such-flag 1").exit_code, 2);
  EXPECT_EQ(RunTrainBinary("check --weights w.safetensors").exit_code,
            2);  // missing required flags
  const std::string dir = MakeTempDir("cli-usage");
  std::ofstream(dir + "/c.yaml") << "no_such_key: 3\n";
  EXPECT_EQ(RunTrainBinary("--config " + dir + "/c.yaml").exit_code, 2);
  std::ofstream(dir + "/flag.yaml") << "norm_affine: maybe\n";  // a flag takes a boolean
  EXPECT_EQ(RunTrainBinary("--config " + dir + "/flag.yaml").exit_code, 2);
}

TEST(FlopwiseTrainCli, YamlConfigTrainsAndEveryStdoutLineIsJson) {
  const std::string dir = MakeTempDir("cli-run");
  const std::string data = WriteTokenFile(dir, 5000, 64, 9);
  std::ofstream(dir + "/c.yaml") << "arch: cos2\npreset: cpu-1\nvocab: 64\ncontext: 32\n"
                                 << "data: " << data << "\nbatch_tokens: 64\n"
                                 << "total_tokens: 1024\nscaled_residual_init: true\nout: " << dir
                                 << "/run\nthreads: 1\n";
  // The command line overrides the file.
  const Result r =
      RunTrainBinary("--config " + dir + "/c.yaml --total-tokens 256 --log-every-steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream lines(r.out);
  std::string line, last_event;
  int progress = 0;
  while (std::getline(lines, line)) {
    const nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(event.is_discarded()) << line;
    last_event = event["event"];
    if (last_event == "progress") ++progress;
    if (last_event == "start") {
      EXPECT_EQ(event["arch"], "cos2");
      EXPECT_FALSE(event.value("blas_core", "").empty()) << line;
    }
  }
  EXPECT_EQ(last_event, "done");
  EXPECT_EQ(progress, 2);  // 4 steps, every 2

  const Result check =
      RunTrainBinary("check --weights " + dir + "/run/step-00000004/model.safetensors --tokens " +
                     data + " --batch 1 --context 4999 --threads 1");
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_EQ(check.out.rfind("loss ", 0), 0u) << check.out;
}

#if defined(__x86_64__)
// The start event names the OpenBLAS kernels that ran the GEMMs: the ones
// OPENBLAS_CORETYPE asks for when it is set.
TEST(FlopwiseTrainCli, StartEventNamesTheBlasKernels) {
  const std::string dir = MakeTempDir("cli-blas-core");
  const std::string data = WriteTokenFile(dir, 2000, 64, 5);
  const Result r = RunCommand("OPENBLAS_CORETYPE=Sandybridge " + std::string(FLOPWISE_TRAIN_BIN) +
                              " --arch llama --preset cpu-1 --vocab 64 --context 32 --data " +
                              data + " --batch-tokens 64 --total-tokens 64 --out " + dir +
                              "/run --threads 1 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json start = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  EXPECT_EQ(start["event"], "start");
  EXPECT_EQ(start["blas_core"], "Sandybridge");
}
#endif

// The model flags as YAML keys and as command-line flags end up in the
// checkpoint's metadata and tensors; a bad value is an error naming the flag.
TEST(FlopwiseTrainCli, ModelFlagsReachTheCheckpoint) {
  const std::string dir = MakeTempDir("cli-flags");
  const std::string data = WriteTokenFile(dir, 2000, 64, 3);
  const std::string common = " --vocab 64 --context 32 --data " + data +
                             " --batch-tokens 64 --total-tokens 64 --threads 1";
  std::ofstream(dir + "/tnl.yaml") << "arch: tnl\npreset: cpu-1\nnorm_affine: true\n"
                                   << "v_act: silu\nout: " << dir << "/tnl\n";
  ASSERT_EQ(RunTrainBinary("--config " + dir + "/tnl.yaml" + common).exit_code, 0);
  ASSERT_EQ(RunTrainBinary("--arch cos2 --preset cpu-1 --lrpe-variant xmixers --out " + dir +
                           "/cos2" + common)
                .exit_code,
            0);
  auto tnl = SafetensorsFile::Read(dir + "/tnl/step-00000001/model.safetensors");
  auto cos2 = SafetensorsFile::Read(dir + "/cos2/step-00000001/model.safetensors");
  ASSERT_TRUE(tnl.ok()) << tnl.status();
  ASSERT_TRUE(cos2.ok()) << cos2.status();
  const nlohmann::json tnl_config = nlohmann::json::parse(tnl->metadata().at("config"));
  EXPECT_EQ(tnl_config.value("norm_affine", false), true) << tnl_config;
  EXPECT_EQ(tnl_config.value("v_act", ""), "silu") << tnl_config;
  EXPECT_EQ(tnl->entries().count("layers.1.norm2.weight"), 1u);
  EXPECT_EQ(tnl->entries().count("norm_f.weight"), 1u);
  const nlohmann::json cos2_config = nlohmann::json::parse(cos2->metadata().at("config"));
  EXPECT_EQ(cos2_config.value("lrpe_variant", ""), "xmixers") << cos2_config;
  EXPECT_FALSE(cos2_config.contains("norm_affine")) << cos2_config;
  EXPECT_EQ(cos2->entries().count("layers.0.mixer.theta"), 0u);
  EXPECT_EQ(cos2->entries().count("norm_f.weight"), 0u);

  const Result bad_flag =
      RunTrainBinary("--arch tnl --preset cpu-1 --v-act relu --out " + dir + "/bad1" + common);
  EXPECT_EQ(bad_flag.exit_code, 1);
  EXPECT_NE(bad_flag.out.find("--v-act: unknown activation 'relu'"), std::string::npos)
      << bad_flag.out;
  std::ofstream(dir + "/bad.yaml") << "arch: cos2\npreset: cpu-1\nlrpe_variant: rope\n";
  const Result bad_key =
      RunTrainBinary("--config " + dir + "/bad.yaml --out " + dir + "/bad2" + common);
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.out.find("--lrpe-variant: unknown variant 'rope'"), std::string::npos)
      << bad_key.out;
}

// The file a worker writes (protobuf JSON of a RunConfig) drives a run; flags
// on the command line override it; a file that is not a RunConfig is a usage
// error.
TEST(FlopwiseTrainCli, RunConfigFileTrainsAndFlagsOverrideIt) {
  const std::string dir = MakeTempDir("cli-run-config");
  const std::string data = WriteTokenFile(dir, 2000, 64, 4);
  v1::RunConfig config;
  v1::ModelShape* model = config.mutable_model();
  model->set_arch(v1::ARCHITECTURE_COS2);
  model->set_preset("cpu-1");
  model->set_vocab(64);
  model->set_context(32);
  model->set_lrpe_variant("xmixers");
  model->set_embed_scale(true);
  config.set_data_path(data);
  config.set_batch_tokens(64);
  config.set_total_tokens(256);
  config.set_lr(1e-3);
  config.set_log_every_steps(1);
  const std::string path = dir + "/run_config.json";
  ASSERT_TRUE(runspec::WriteProtoJsonFile(config, path).ok());

  const Result r =
      RunTrainBinary("--config " + path + " --out " + dir + "/run --threads 1 --total-tokens 128");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(R"("event":"done")"), std::string::npos) << r.out;
  auto weights = SafetensorsFile::Read(dir + "/run/step-00000002/model.safetensors");
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_EQ(weights->metadata().at("arch"), "cos2");
  const nlohmann::json metadata = nlohmann::json::parse(weights->metadata().at("config"));
  EXPECT_EQ(metadata.value("embed_scale", false), true) << metadata;
  EXPECT_EQ(metadata.value("lrpe_variant", ""), "xmixers") << metadata;

  std::ofstream(dir + "/bad.json") << R"({"model": {"arch": "ARCHITECTURE_TNL"}, "colour": 1})";
  EXPECT_EQ(RunTrainBinary("--config " + dir + "/bad.json --out " + dir + "/bad").exit_code, 2);
}

// On a terminal (util-linux `script` gives the run a pseudo-terminal for both
// stdout and stderr) a progress line with an ETA is drawn, cleared before each
// JSON line so that every line still reads as JSON, and a summary follows.
// Raw tokens have no validation split beside them: one warning line says so.
TEST(FlopwiseTrainCli, TerminalProgressLineNeverMixesWithJson) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "util-linux `script` is not installed: no pseudo-terminal to test with";
  }
  const std::string dir = MakeTempDir("cli-tty");
  const std::string data = WriteTokenFile(dir, 5000, 64, 4);
  const std::string train =
      std::string(FLOPWISE_TRAIN_BIN) +
      " --arch tnl --preset cpu-1 --vocab 64 --context 32 --data " + data +
      " --batch-tokens 64 --total-tokens 512 --log-every-steps 1 --threads 1 --out " + dir + "/run";
  const Result r = RunCommand("script -qefc '" + train + "' /dev/null < /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ETA "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\r\033[K{"), std::string::npos) << "no line cleared before JSON";
  std::istringstream lines(r.out);
  std::string line;
  int json_lines = 0;
  int warnings = 0;
  bool summary = false;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // What stays on the screen is what follows the last erase-line.
    const size_t erase = line.rfind("\033[K");
    const std::string shown = erase == std::string::npos ? line : line.substr(erase + 3);
    if (shown.rfind("done: step 8, ", 0) == 0) {
      summary = true;
      EXPECT_NE(shown.find("peak memory"), std::string::npos) << shown;
      continue;
    }
    if (shown.rfind("flopwise-train: warning: no validation split beside --data", 0) == 0) {
      ++warnings;
      continue;
    }
    const nlohmann::json event = nlohmann::json::parse(shown, nullptr, false);
    EXPECT_FALSE(event.is_discarded()) << "not JSON on screen: " << shown;
    ++json_lines;
  }
  EXPECT_EQ(json_lines, 11);  // start, 8 progress, checkpoint, done
  EXPECT_EQ(warnings, 1) << r.out;
  EXPECT_TRUE(summary) << r.out;
}

// The done event carries the process's peak resident memory and the estimate
// from the config (parameters, gradients, AdamW moments, activations and the
// process's own cost); the peak stays within 1.5× of the estimate.
TEST(FlopwiseTrainCli, PeakMemoryStaysWithinTheConfigEstimate) {
  const std::string dir = MakeTempDir("cli-memory");
  const std::string data = WriteTokenFile(dir, 20000, 264, 5);
  for (const char* arch : {"llama", "tnl", "hgrn2", "cos2"}) {
    const Result r = RunTrainBinary(
        std::string("--arch ") + arch + " --preset cpu-2 --vocab 264 --context 256 --data " + data +
        " --batch-tokens 2048 --total-tokens 2048 --threads 2 --out " + dir + "/" + arch);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const std::string last = r.out.substr(r.out.rfind('{'));
    const nlohmann::json done = nlohmann::json::parse(last, nullptr, false);
    ASSERT_FALSE(done.is_discarded()) << last;
    ASSERT_EQ(done.value("event", ""), "done") << last;
    const double peak = done.value("peak_rss_bytes", 0.0);
    const double estimate = done.value("memory_estimate_bytes", 0.0);
    EXPECT_GT(peak, 0) << arch;
    EXPECT_LE(peak, 1.5 * estimate) << arch << ": peak " << peak << " estimate " << estimate;
    // And the estimate is not padded far beyond what the run takes.
    EXPECT_GE(peak, 0.5 * estimate) << arch << ": peak " << peak << " estimate " << estimate;
  }
}

TEST(FlopwiseTrainCli, BadInputExits1WithErrorEvent) {
  const std::string dir = MakeTempDir("cli-bad");
  const Result r =
      RunTrainBinary("--arch tnl --preset cpu-1 --vocab 64 --context 32 --data " + dir +
                     "/missing.u32 --batch-tokens 64 --total-tokens 64 --out " + dir + "/run");
  EXPECT_EQ(r.exit_code, 1);
  const nlohmann::json event = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << r.out;
  EXPECT_EQ(event["event"], "error");
}

// A model too large for the machine is an error event saying how much it
// needs and how much there is, with exit code 5, never an abort: found before
// allocating (13 TB of weights and optimizer state), or when an allocation
// fails (here under a 2.5 GB address-space limit).
TEST(FlopwiseTrainCli, AModelTooLargeForMemoryExits5) {
  const std::string dir = MakeTempDir("cli-oom");
  const std::string data = WriteTokenFile(dir, 1000, 64, 2);
  const std::string common = " --vocab 64 --context 32 --data " + data +
                             " --batch-tokens 32 --total-tokens 32 --threads 1 --out " + dir;
  const Result huge = RunTrainBinary(
      "--arch llama --layers 256 --d-model 16384 --heads 128 --ffn-dim 43690" + common + "/huge");
  EXPECT_EQ(huge.exit_code, 5) << huge.out;
  const nlohmann::json event = nlohmann::json::parse(huge.out, nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << huge.out;
  EXPECT_EQ(event["event"], "error");
  const std::string message = event.value("message", "");
  EXPECT_EQ(message.rfind("out of memory: the model needs ", 0), 0u) << message;
  EXPECT_NE(message.find("but this machine has "), std::string::npos) << message;

  // 3.2 GB per arena: the first allocation fails under the limit.
  const Result limited =
      RunCommand("ulimit -v 2500000; OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 exec " +
                 std::string(FLOPWISE_TRAIN_BIN) +
                 " --arch llama --layers 4 --d-model 4096 --heads 32 --ffn-dim 11008" + common +
                 "/limited 2>/dev/null");
  EXPECT_EQ(limited.exit_code, 5) << limited.out;
  EXPECT_NE(limited.out.find("out of memory: "), std::string::npos) << limited.out;
  // The limit that was short is the one quoted, not the machine's memory.
  EXPECT_NE(limited.out.find("this process may use 2.4 GiB of memory (ulimit -v)"),
            std::string::npos)
      << limited.out;
}

// One trainer writes a run folder at a time: while another process holds
// RUN_DIR/trainer.lock (a stopping trainer of an earlier attempt) a trainer
// waits for it, and after --out-wait-s gives up naming the folder and the
// holder; once the holder lets go within the wait, it trains.
TEST(FlopwiseTrainCli, ATrainerWaitsForTheRunFoldersPreviousWriter) {
  const std::string dir = MakeTempDir("cli-out-lock");
  const std::string data = WriteTokenFile(dir, 2000, 64, 4);
  const std::string run_dir = dir + "/run";
  const std::string args = "--arch llama --preset cpu-1 --vocab 64 --context 32 --data " + data +
                           " --batch-tokens 64 --total-tokens 64 --threads 1 --out " + run_dir;
  std::filesystem::create_directories(run_dir);
  absl::StatusOr<FileLock> held = FileLock::Acquire(run_dir + "/trainer.lock");
  ASSERT_TRUE(held.ok()) << held.status();
  const Result refused = RunTrainBinary(args + " --out-wait-s 1");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("--out " + run_dir + ": another flopwise-train (held by pid " +
                             std::to_string(getpid()) + ") still writes this run folder after 1s"),
            std::string::npos)
      << refused.out;
  EXPECT_FALSE(std::filesystem::exists(run_dir + "/step-00000001")) << "nothing written";

  std::thread release([lock = std::move(*held)]() mutable {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    FileLock gone = std::move(lock);
  });
  const Result waited = RunTrainBinary(args);
  release.join();
  EXPECT_EQ(waited.exit_code, 0) << waited.out;
  EXPECT_NE(waited.out.find("\"event\":\"done\""), std::string::npos) << waited.out;
}

// `check` on weights holding a NaN exits non-zero with the tensor's name on
// stderr instead of printing `loss nan`.
TEST(FlopwiseTrainCli, CheckOnNanWeightsExits1) {
  const std::string dir = MakeTempDir("cli-nan");
  const std::string data = WriteTokenFile(dir, 2000, 64, 3);
  ASSERT_EQ(RunTrainBinary("--arch tnl --preset cpu-1 --vocab 64 --context 32 --data " + data +
                           " --batch-tokens 64 --total-tokens 64 --threads 1 --out " + dir + "/run")
                .exit_code,
            0);
  const std::string weights = dir + "/run/step-00000001/model.safetensors";
  CopyWeights(weights, dir + "/nan.safetensors", {},
              [](const std::string& name, std::vector<float>* values) {
                if (name == "layers.1.ffn.down.weight") (*values)[5] = std::nanf("");
              });
  std::ofstream(dir + "/t.bin", std::ios::binary).write(std::string(33 * 4, '\0').data(), 33 * 4);
  const Result r = RunCommand(std::string(FLOPWISE_TRAIN_BIN) + " check --weights " + dir +
                              "/nan.safetensors --tokens " + dir +
                              "/t.bin --batch 1 --context 32 --threads 1 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out.find("loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tensor 'layers.1.ffn.down.weight' holds NaN at element 5"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace flopwise::train
