// flopwise-fake-train: a stand-in for flopwise-train in the daemon tests. It
// takes flopwise-train's flags and the run config file the worker passes with
// --config (protobuf JSON of flopwise.v1.RunConfig), speaks exactly its stdout protocol (start,
// progress, checkpoint, done, diverged, stopped, error; exit codes 0/1/3/4),
// writes and resumes from checkpoint directories RUN_DIR/step-NNNNNNNN/
// (state.json + model.safetensors, renamed into place), and trains nothing:
// the loss is a fixed function of the step, so any two attempts of a run
// report identical rows for the same step.
//
// `flopwise-fake-train eval --checkpoint DIR --tasks a,b ... [--figures DIR]`
// stands in for `flopwise-train eval`: one "eval" line per task ("needle" is
// both modes) with made-up metrics, a heatmap path for the needle modes, and
// exit 1 with the path on stderr for a .jsonl task file it cannot open.
//
// Knobs (environment, for fault tests):
//   FLOPWISE_FAKE_STEP_MS       sleep per step (default 5)
//   FLOPWISE_FAKE_NAN_AT_STEP   report a NaN loss at this step and exit 3 ...
//   FLOPWISE_FAKE_NAN_MIN_LR    ... only for runs whose --lr is at least this
//   FLOPWISE_FAKE_CRASH_AT_STEP abort() at this step (killed by SIGABRT) on a
//                               fresh start only (a resumed attempt survives)
//   FLOPWISE_FAKE_PID_DIR       write PID_DIR/<pid> while running
//   FLOPWISE_FAKE_EVAL_TASK_MS  eval: sleep per task (default 5)
//
// A data-parallel rank (--world-size N --rank R --rendezvous URI) first meets
// the other ranks through the coordinator's rendezvous, as flopwise-train
// does (each sets "rank/R" and reads every other's; the worker token from
// FLOPWISE_TOKEN_FILE), and only rank 0 reports progress and checkpoints.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "comm/coordinator_key_value_store.h"
#include "flopwise/v1/types.pb.h"
#include "runspec/architecture.h"
#include "runspec/proto_json.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

volatile std::sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }

void Emit(const Json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::atoll(v);
}

double Loss(int64_t step) { return 2.0 + 8.0 / std::sqrt(1.0 + static_cast<double>(step)); }

// FNV-1a, printed as 64 hex digits: a stand-in digest of the checkpoint.
std::string Digest(const std::string& data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char hex[65];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx%016llx%016llx",
                static_cast<unsigned long long>(h), static_cast<unsigned long long>(~h),
                static_cast<unsigned long long>(h * 31), static_cast<unsigned long long>(h * 131));
  return hex;
}

struct Resume {
  int64_t step = -1;
  int64_t tokens = 0;
};

// The newest checkpoint, at most `at_most` steps in (as flopwise-train's
// --resume-step; -1: any).
Resume NewestCheckpoint(const fs::path& run_dir, int64_t at_most) {
  Resume best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) != 0) continue;
    std::ifstream in(entry.path() / "state.json");
    Json state = Json::parse(in, nullptr, false);
    if (state.is_discarded() || !state.contains("step")) continue;
    if (at_most >= 0 && state["step"].get<int64_t>() > at_most) continue;
    if (state["step"].get<int64_t>() > best.step) {
      best.step = state["step"].get<int64_t>();
      best.tokens = state["tokens"].get<int64_t>();
    }
  }
  return best;
}

struct Written {
  std::string path;
  std::string digest;
};

Written WriteCheckpoint(const fs::path& run_dir, int64_t step, int64_t tokens) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%08lld", static_cast<long long>(step));
  const fs::path final_dir = run_dir / name;
  const fs::path tmp_dir = run_dir / (std::string(".tmp-") + name);
  fs::create_directories(tmp_dir);
  const std::string weights = "fake weights at step " + std::to_string(step);
  std::ofstream(tmp_dir / "model.safetensors") << weights;
  std::ofstream(tmp_dir / "state.json") << Json{{"step", step}, {"tokens", tokens}}.dump();
  fs::remove_all(final_dir);
  fs::rename(tmp_dir, final_dir);
  return {final_dir.string(), Digest(weights)};
}

// Fills the flags the command line leaves unset from a RunConfig file (as
// flopwise-train does): the few fields this stand-in uses.
void MergeRunConfig(const std::string& path, std::map<std::string, std::string>* flags) {
  flopwise::v1::RunConfig config;
  if (!flopwise::runspec::ReadProtoJsonFile(path, &config).ok()) return;
  auto set = [&](const std::string& key, auto value) {
    if (value == 0) return;
    char text[32];
    std::snprintf(text, sizeof(text), "%.17g", static_cast<double>(value));
    flags->emplace(key, text);
  };
  set("total-tokens", config.total_tokens());
  set("batch-tokens", config.batch_tokens());
  set("checkpoint-every-tokens", config.checkpoint_every_tokens());
  set("log-every-steps", config.log_every_steps());
  set("lr", config.lr());
  const std::string arch = flopwise::runspec::ArchName(config.model().arch());
  if (!arch.empty()) flags->emplace("arch", arch);
}

// The eval command: flags as `flopwise-train eval` takes them.
int Evaluate(const std::map<std::string, std::string>& flags) {
  auto flag = [&](const char* name) {
    auto it = flags.find(name);
    return it == flags.end() ? std::string() : it->second;
  };
  const int64_t task_ms = EnvInt("FLOPWISE_FAKE_EVAL_TASK_MS", 5);
  std::vector<std::string> tasks;
  std::string list = flag("tasks");
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string task = list.substr(start, comma - start);
    if (task == "needle") {
      tasks.push_back("needle-easy");
      tasks.push_back("needle-standard");
    } else if (!task.empty()) {
      tasks.push_back(task);
    }
    start = comma + 1;
  }
  std::ifstream state_file(fs::path(flag("checkpoint")) / "state.json");
  const Json state = Json::parse(state_file, nullptr, false);
  const int64_t step = state.is_object() ? state.value("step", int64_t{-1}) : -1;
  for (const std::string& task : tasks) {
    std::this_thread::sleep_for(std::chrono::milliseconds(task_ms));
    std::string name = task;
    Json metrics;
    Json line = {{"event", "eval"}, {"checkpoint", flag("checkpoint")}, {"step", step}};
    if (task.size() > 6 && task.ends_with(".jsonl")) {
      if (!std::ifstream(task)) {
        std::fprintf(stderr, "flopwise-train eval: task file %s: cannot open\n", task.c_str());
        return 1;
      }
      name = fs::path(task).stem().string();
      metrics = {{"documents", 4}, {"acc", 0.5}, {"acc_norm", 0.25}};
    } else if (task.rfind("needle-", 0) == 0) {
      metrics = {{"mode", task.substr(7)},
                 {"lengths", {32, 64}},
                 {"accuracy_at_length", {0.5, 0.4}},
                 {"weighted_average_accuracy", 0.45},
                 {"niah_score", 0.0}};
      if (!flag("figures").empty()) {
        line["figures"] = {
            (fs::path(flag("figures")) / (task + "-step-" + std::to_string(step) + ".svg"))
                .string()};
      }
    } else {
      metrics = {{"loss", Loss(step)}, {"perplexity", std::exp(Loss(step))}, {"tokens", 512}};
    }
    line["task"] = name;
    line["metrics"] = metrics;
    line["forward_tokens"] = 512;
    line["seconds"] = task_ms / 1000.0;
    Emit(line);
  }
  return 0;
}

// Publishes this rank and waits for every other one; the error to report
// when the rendezvous fails.
absl::Status MeetOtherRanks(const std::string& uri, int64_t rank, int64_t world_size) {
  auto store = flopwise::comm::CoordinatorKeyValueStore::OpenFromEnvironment(uri);
  if (!store.ok()) return store.status();
  const std::string pid = std::to_string(getpid());
  if (absl::Status set = (*store)->Set("rank/" + std::to_string(rank), pid); !set.ok()) return set;
  for (int64_t other = 0; other < world_size; ++other) {
    auto seen = (*store)->Get("rank/" + std::to_string(other), absl::Seconds(60));
    if (!seen.ok()) return seen.status();
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const bool evaluate = argc > 1 && std::string(argv[1]) == "eval";
  std::map<std::string, std::string> flags;
  for (int i = evaluate ? 2 : 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      Emit({{"event", "error"}, {"message", "usage: bad argument " + arg}});
      return 2;
    }
    // A flag without a value (--norm-affine) is a boolean that is on.
    const bool has_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
    flags[arg.substr(2)] = has_value ? argv[++i] : "true";
  }
  if (evaluate) return Evaluate(flags);
  if (flags.count("config")) MergeRunConfig(flags["config"], &flags);
  auto flag_int = [&](const char* name, int64_t fallback) {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : std::atoll(it->second.c_str());
  };
  const int64_t total_tokens = flag_int("total-tokens", 0);
  const int64_t batch_tokens = flag_int("batch-tokens", 0);
  const int64_t checkpoint_every = flag_int("checkpoint-every-tokens", 0);
  const int64_t log_every = std::max<int64_t>(1, flag_int("log-every-steps", 1));
  const double lr = flags.count("lr") ? std::atof(flags["lr"].c_str()) : 3e-4;
  if (!flags.count("out") || total_tokens <= 0 || batch_tokens <= 0) {
    Emit(
        {{"event", "error"}, {"message", "--out, --total-tokens and --batch-tokens are required"}});
    return 1;
  }
  const fs::path run_dir = flags["out"];
  fs::create_directories(run_dir);
  std::signal(SIGTERM, OnStop);
  std::signal(SIGINT, OnStop);

  const int64_t step_ms = EnvInt("FLOPWISE_FAKE_STEP_MS", 5);
  const int64_t nan_at = EnvInt("FLOPWISE_FAKE_NAN_AT_STEP", -1);
  const char* nan_min_lr_text = std::getenv("FLOPWISE_FAKE_NAN_MIN_LR");
  const double nan_min_lr = nan_min_lr_text == nullptr ? 0.0 : std::atof(nan_min_lr_text);
  const int64_t crash_at = EnvInt("FLOPWISE_FAKE_CRASH_AT_STEP", -1);
  fs::path pid_file;
  if (const char* dir = std::getenv("FLOPWISE_FAKE_PID_DIR"); dir != nullptr && *dir) {
    pid_file = fs::path(dir) / std::to_string(getpid());
    std::ofstream(pid_file) << run_dir.string();
  }
  auto finish = [&](int code) {
    if (!pid_file.empty()) fs::remove(pid_file);
    return code;
  };

  const int64_t world_size = flag_int("world-size", 1);
  const bool reports = flag_int("rank", 0) == 0;  // rank 0 speaks for the run
  if (world_size > 1) {
    if (absl::Status met = MeetOtherRanks(flags["rendezvous"], flag_int("rank", 0), world_size);
        !met.ok()) {
      Emit({{"event", "error"}, {"message", std::string(met.message())}});
      return finish(1);
    }
  }

  const Resume resume = NewestCheckpoint(run_dir, flag_int("resume-step", -1));
  const double flops_per_token = 6.0e6;
  int64_t step = std::max<int64_t>(0, resume.step);
  int64_t tokens = resume.tokens;
  Emit({{"event", "start"},
        {"arch", flags.count("arch") ? flags["arch"] : ""},
        {"params_non_embedding", 1000000},
        {"params_embedding", 50000},
        {"flops_per_token", flops_per_token},
        {"total_tokens", total_tokens},
        {"resumed_from_step", resume.step}});
  int64_t next_checkpoint = checkpoint_every > 0 ? tokens + checkpoint_every : total_tokens;
  while (tokens < total_tokens) {
    std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
    ++step;
    tokens += batch_tokens;
    const double flops = static_cast<double>(tokens) * flops_per_token;
    if (crash_at >= 0 && step == crash_at && resume.step < 0) std::abort();
    if (nan_at >= 0 && step == nan_at && lr >= nan_min_lr) {
      Emit({{"event", "diverged"}, {"step", step}, {"loss", "nan"}});
      return finish(3);
    }
    if (reports && (step % log_every == 0 || tokens >= total_tokens)) {
      Emit({{"event", "progress"},
            {"step", step},
            {"tokens", tokens},
            {"flops", flops},
            {"loss", Loss(step)},
            {"lr", lr},
            {"grad_norm", 1.0},
            {"tokens_per_s", 1000.0 * static_cast<double>(batch_tokens) / (step_ms + 1)}});
    }
    if (tokens >= total_tokens) break;
    const bool stopping = g_stop != 0;
    if (reports && (tokens >= next_checkpoint || stopping)) {
      const Written written = WriteCheckpoint(run_dir, step, tokens);
      Emit({{"event", "checkpoint"},
            {"step", step},
            {"tokens", tokens},
            {"flops", flops},
            {"loss", Loss(step)},
            {"path", written.path},
            {"sha256", written.digest}});
      next_checkpoint = tokens + checkpoint_every;
    }
    if (stopping) {
      Emit({{"event", "stopped"}, {"step", step}});
      return finish(4);
    }
  }
  const double flops = static_cast<double>(tokens) * flops_per_token;
  if (!reports) return finish(0);
  const Written written = WriteCheckpoint(run_dir, step, tokens);
  Emit({{"event", "checkpoint"},
        {"step", step},
        {"tokens", tokens},
        {"flops", flops},
        {"loss", Loss(step)},
        {"path", written.path},
        {"sha256", written.digest}});
  Emit({{"event", "done"},
        {"step", step},
        {"tokens", tokens},
        {"flops", flops},
        {"loss", Loss(step)}});
  return finish(0);
}
