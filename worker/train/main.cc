// flopwise-train: trains one model (docs/training.md) or, with `check`,
// evaluates given weights on given tokens (docs/model-contract.md §12).
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "base/text_format.h"
#include "base/yaml_config.h"
#include "models/model_flags.h"
#include "runspec/proto_json.h"
#include "worker/train/check.h"
#include "worker/train/device.h"
#include "worker/train/eval_command.h"
#include "worker/train/progress_bar.h"
#include "worker/train/trainer.h"

namespace flopwise::train {
namespace {

namespace v1 = ::flopwise::v1;

std::atomic<bool> g_stop_requested{false};

void OnStopSignal(int) { g_stop_requested.store(true); }

// Prints each event as one JSON line on stdout. With `bar` (stderr is a
// terminal) it also keeps a progress line at the bottom of stderr; when stdout
// is that same terminal (`shared`), the line is cleared before each JSON line
// and drawn again after it, so the two never mix.
class StdoutSink final : public EventSink {
 public:
  StdoutSink(bool bar, bool shared, int columns) : bar_(bar), shared_(shared), columns_(columns) {}

  void Emit(const nlohmann::json& event) override {
    const std::string kind = event.value("event", "");
    const bool final = kind == "done" || kind == "stopped" || kind == "diverged" || kind == "error";
    if (drawn_ && shared_) {
      std::fputs("\r\033[K", stderr);
      drawn_ = false;
    }
    std::printf("%s\n", event.dump().c_str());
    std::fflush(stdout);
    if (drawn_ && final) {
      std::fputs("\n", stderr);
      drawn_ = false;
    }
    if (kind == "error") {
      std::fprintf(stderr, "flopwise-train: %s\n", event.value("message", "").c_str());
    }
    if (!bar_) return;
    if (kind == "start") total_tokens_ = event.value("total_tokens", int64_t{0});
    if (kind == "progress") {
      ProgressLine p;
      p.step = event.value("step", int64_t{0});
      p.tokens = event.value("tokens", int64_t{0});
      p.total_tokens = total_tokens_;
      p.loss = event.value("loss", 0.0);
      p.tokens_per_s = event.value("tokens_per_s", 0.0);
      p.validation_loss = validation_loss_;
      line_ = FormatProgressLine(p, 24);
      if (columns_ > 1 && static_cast<int>(line_.size()) >= columns_) line_.resize(columns_ - 1);
    }
    if (kind == "checkpoint" && event.value("validation_tokens", int64_t{0}) > 0) {
      validation_loss_ = event.value("validation_loss", 0.0);
      validation_bpb_ = event.contains("validation_bits_per_byte")
                            ? std::optional<double>(event.value("validation_bits_per_byte", 0.0))
                            : std::nullopt;
    }
    if (kind == "done") {
      std::string validation;
      if (validation_loss_) {
        validation = absl::StrFormat(", validation loss %.4f", *validation_loss_);
        if (validation_bpb_) absl::StrAppendFormat(&validation, " (%.4f bpb)", *validation_bpb_);
      }
      std::fprintf(stderr,
                   "done: step %lld, %s tokens, loss %.4f%s, peak memory %.0f MiB (%.0f MiB "
                   "estimated from the config)\n",
                   static_cast<long long>(event.value("step", int64_t{0})),
                   ShortCount(event.value("tokens", 0.0)).c_str(), event.value("loss", 0.0),
                   validation.c_str(), event.value("peak_rss_bytes", 0.0) / (1 << 20),
                   event.value("memory_estimate_bytes", 0.0) / (1 << 20));
    }
    if (kind == "stopped") {
      std::fprintf(stderr,
                   "stopped after step %lld with a checkpoint; run the same command to resume\n",
                   static_cast<long long>(event.value("step", int64_t{0})));
    }
    if (kind == "diverged") {
      std::fprintf(stderr, "diverged at step %lld: loss is %s\n",
                   static_cast<long long>(event.value("step", int64_t{0})),
                   event.value("loss", "").c_str());
    }
    if (!final && !line_.empty()) {
      std::fprintf(stderr, "\r%s\033[K", line_.c_str());
      drawn_ = true;
    }
    std::fflush(stderr);
  }

 private:
  const bool bar_;
  const bool shared_;
  const int columns_;
  bool drawn_ = false;
  int64_t total_tokens_ = 0;
  std::optional<double> validation_loss_, validation_bpb_;  // of the newest checkpoint
  std::string line_;
};

// The terminal's width in columns, or 0 when it cannot be read.
int TerminalColumns(int fd) {
  struct winsize size = {};
  if (ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

// One command-line flag per model flag (models/model_flags.h): a valueless
// flag for a boolean, a flag with a value for a choice.
void AddModelFlags(CLI::App& app, models::ModelFlagValues* values) {
  for (const models::ModelFlag& flag : models::ModelFlags()) {
    const std::string name(flag.name);
    const std::string help(flag.help);
    if (flag.kind == models::FlagKind::kBool) {
      app.add_flag_function(
          models::CommandLineFlag(flag),
          [values, name](int64_t count) { (*values)[name] = count > 0 ? "true" : "false"; }, help);
    } else {
      app.add_option_function<std::string>(
          models::CommandLineFlag(flag),
          [values, name](const std::string& text) { (*values)[name] = text; }, help);
    }
  }
}

// A `--config RUN.json` is a RunConfig as protobuf JSON, as the worker writes
// it into a run directory: it sets the options' starting values and is taken
// out of `args`, so the command line, parsed afterwards, overrides it. Any
// other --config file stays for UseYamlConfig's YAML reader. Throws
// CLI::ValidationError for a file that cannot be read or is not a RunConfig.
void TakeRunConfigFile(std::vector<std::string>* args, TrainOptions* options) {
  for (auto it = args->begin(); it != args->end(); ++it) {
    std::string path;
    auto end = it + 1;
    if (*it == "--config" && end != args->end()) {
      path = *end++;
    } else if (it->starts_with("--config=")) {
      path = it->substr(std::string_view("--config=").size());
    } else {
      continue;
    }
    if (!path.ends_with(".json")) return;
    v1::RunConfig config;
    if (absl::Status s = runspec::ReadProtoJsonFile(path, &config); !s.ok()) {
      throw CLI::ValidationError("--config", std::string(s.message()));
    }
    ApplyRunConfig(config, options);
    args->erase(it, end);
    return;
  }
}

// --device's value must name a device (worker/train/device.h): a usage error otherwise.
CLI::Validator DeviceValidator() {
  return CLI::Validator(
      [](std::string& device) {
        // CLI11 puts the flag's name in front of the message.
        const absl::Status status = ValidateDevice(device);
        return status.ok() ? std::string()
                           : std::string(absl::StripPrefix(status.message(), "--device: "));
      },
      "DEVICE");
}

int Main(int argc, char** argv) {
  CLI::App app{"flopwise-train: train one model, or `check` given weights on given tokens"};
  TrainOptions o;
  UseYamlConfig(app);
  app.get_config_ptr()->description(
      "Run config: a RunConfig as protobuf JSON (*.json, as the worker writes it) or YAML of "
      "flags (keys: long flag names, '_' or '-')");
  app.add_option("--arch", o.model.arch, "llama, tnl, hgrn2 or cos2");
  app.add_option("--preset", o.model.preset, "cpu-1 … cpu-7, 70M … 7B (see `flopwise models`)");
  app.add_option("--layers", o.model.layers, "Override the preset's layers");
  app.add_option("--d-model", o.model.d_model, "Override the preset's width");
  app.add_option("--heads", o.model.heads, "Override the preset's heads");
  app.add_option("--ffn-dim", o.model.ffn_dim, "Override the preset's channel-mixer width");
  app.add_option("--gate-rank", o.model.gate_rank,
                 "Output-gate rank t (tnl, cos2; default head dim)");
  app.add_option("--tpe-dim", o.model.tpe_dim, "TPE width e (cos2; default head dim)");
  AddModelFlags(app, &o.model.flags);
  app.add_option("--vocab", o.model.vocab, "Vocabulary size");
  app.add_option("--context", o.model.context, "Tokens per training sequence");
  app.add_option("--data", o.data, "Token data: shard directory, shard, or raw .u16/.u32/.bin");
  app.add_option("--batch-tokens", o.batch_tokens, "Tokens per optimizer step");
  app.add_option("--grad-accum", o.grad_accum, "Micro-steps per optimizer step");
  app.add_option("--total-tokens", o.total_tokens, "Tokens to train on");
  app.add_option("--lr", o.lr, "Peak learning rate");
  app.add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay");
  app.add_option("--beta1", o.beta1, "AdamW β1");
  app.add_option("--beta2", o.beta2, "AdamW β2");
  app.add_option("--grad-clip", o.grad_clip, "Clip the global gradient norm (≤ 0: off)");
  app.add_option("--schedule", o.schedule, "constant or cosine");
  app.add_option("--warmup-tokens", o.warmup_tokens, "Linear warmup length in tokens");
  app.add_option("--min-lr-ratio", o.min_lr_ratio, "Cosine floor as a fraction of --lr");
  app.add_option("--seed", o.seed, "Initialisation and data-order seed");
  app.add_option("--device", o.device, "cpu, cuda or cuda:N (the CUDA device N; cuda = cuda:0)")
      ->check(DeviceValidator());
  app.add_option("--precision", o.precision,
                 "fp32, or bf16 on a CUDA device (bf16 GEMMs; weights, optimizer state, loss and "
                 "checkpoints stay fp32)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--checkpoint-every-tokens", o.checkpoint_every_tokens,
                 "Checkpoint interval in tokens (0: only at the end)");
  app.add_option("--keep-checkpoints", o.keep_checkpoints,
                 "Keep only the newest N checkpoint directories on disk (0: all)");
  app.add_option("--log-every-steps", o.log_every_steps, "Progress event interval");
  app.add_option("--validation-tokens", o.validation_tokens,
                 "Held-out tokens scored at every checkpoint (0: ≤ 5% of the training compute "
                 "over all checkpoints)");
  app.add_option("--validation-data", o.validation_data,
                 "Held-out data for validation (default: the validation split beside --data)");
  app.add_flag("!--no-validation", o.validate, "No validation at checkpoints");
  app.add_option("--out", o.out, "Run directory (checkpoints; resumes from the newest)");
  app.add_option("--resume-step", o.resume_step,
                 "Resume from the newest checkpoint at or below this step, never a newer one "
                 "(0: from scratch; what a worker passes: the coordinator's newest checkpoint)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--out-wait-s", o.out_wait_s,
                 "Seconds to wait for another flopwise-train still writing --out (a stopping "
                 "trainer of an earlier attempt) before giving up")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: all)");
  app.add_option("--world-size", o.world_size,
                 "Processes (ranks) of a data-parallel run (docs/distributed.md)");
  app.add_option("--rank", o.rank, "This process's rank, in [0, --world-size)");
  app.add_option("--rendezvous", o.rendezvous,
                 "Where the ranks meet: file:DIR (required when --world-size > 1)");
  app.add_option("--rendezvous-timeout-s", o.rendezvous_timeout_s,
                 "Longest wait for a peer rank, at rendezvous and in every collective (seconds)");
  app.add_option("--rank-address", o.rank_address,
                 "IP address of this host that the rank listens on and its peers connect to "
                 "(default 127.0.0.1: every rank on this host)");
  app.add_option("--rank-interface", o.rank_interface,
                 "Network interface (e.g. eth0) whose address the rank listens on, instead of "
                 "--rank-address");
  app.add_flag("!--no-overlap-grad-reduce", o.overlap_grad_reduce,
               "All-reduce the gradients after the backward pass instead of during it (the same "
               "sums; for comparing the two)");

  CheckOptions co;
  CLI::App* check = app.add_subcommand("check", "Loss (and gradients) of weights on tokens");
  check->add_option("--weights", co.weights, "model.safetensors")->required();
  check->add_option("--tokens", co.tokens, "raw uint32 tokens, batch × (context + 1)")->required();
  check->add_option("--batch", co.batch, "Sequences")->required();
  check->add_option("--context", co.context, "Tokens per sequence")->required();
  check->add_option("--grads", co.grads, "Write gradients of the mean loss here");
  check->add_option("--threads", co.threads, "CPU threads (0: all)");
  check->add_option("--device", co.device, "cpu, cuda or cuda:N")->check(DeviceValidator());
  check->add_option("--precision", co.precision, "fp32, or bf16 on a CUDA device")
      ->check(CLI::IsMember({"fp32", "bf16"}));

  EvalCommand eval_command;
  CLI::App* evaluate = AddEvalCommand(&app, &eval_command);

  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    TakeRunConfigFile(&args, &o);
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  } catch (const std::invalid_argument&) {
    // CLI11 converts a config file's value for a model flag (AddModelFlags)
    // in the flag's callback, where a word that is no boolean throws this.
    std::fprintf(stderr, "flopwise-train: --config: a flag takes true or false\n");
    return kExitUsage;
  }

  if (check->parsed()) {
    auto loss = RunCheck(co);
    if (!loss.ok()) {
      std::fprintf(stderr, "flopwise-train check: %s\n",
                   std::string(loss.status().message()).c_str());
      return ExitCodeOf(loss.status());
    }
    std::printf("loss %.10g\n", *loss);
    return 0;
  }

  if (evaluate->parsed()) return RunEvalCommand(eval_command);

  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  const bool bar = isatty(STDERR_FILENO) != 0;
  StdoutSink sink(bar, bar && isatty(STDOUT_FILENO) != 0, TerminalColumns(STDERR_FILENO));
  return RunTraining(o, &sink, &g_stop_requested);
}

}  // namespace
}  // namespace flopwise::train

int main(int argc, char** argv) { return flopwise::train::Main(argc, argv); }
