// Forward-only evaluation throughput against the training step, per
// architecture, on the CPU backend, as medians over interleaved repeats
// (train, eval, train, eval, ...) with their min-max spread:
//   <arch> <preset> ctx=<n> batch=<b> train=<tokens/s> [min-max]
//     eval=<tokens/s> [min-max] eval/train=<ratio> [min-max] n=<repeats>
// Training is Model::ForwardBackward + AdamWStep; evaluation is
// CheckpointModel::WindowLosses (what `flopwise-train eval` runs) on weights
// written to a temporary file. The ratio is about 3 when backward costs twice
// the forward (6N against 2N FLOPs per token). The load average is printed
// before and after.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "models/model.h"
#include "models/presets.h"
#include "models/rng.h"
#include "worker/eval/checkpoint_model.h"
#include "worker/train/model_io.h"

namespace flopwise {
namespace {

double Seconds(const std::function<void()>& fn, int steps) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// "median [min-max]" of `values`.
std::string Summary(std::vector<double> values, const char* format) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  const auto text = [format](double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), format, value);
    return std::string(buffer);
  };
  return text(median) + " [" + text(values.front()) + "-" + text(values.back()) + "]";
}

int Main(int argc, char** argv) {
  CLI::App app{"eval_bench: forward-only evaluation vs training tokens/s"};
  std::string preset = "cpu-3";
  int context = 256, batch = 4, steps = 3, repeats = 5, threads = 1, vocab = 264;
  app.add_option("--preset", preset, "CPU ladder or paper preset");
  app.add_option("--context", context, "Tokens per sequence");
  app.add_option("--batch", batch, "Sequences per step / forward");
  app.add_option("--steps", steps, "Timed steps per repeat (after one warm-up of each side)");
  app.add_option("--repeats", repeats, "Interleaved train/eval repeats")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads");
  app.add_option("--vocab", vocab, "Vocabulary (264: byte level)");
  CLI11_PARSE(app, argc, argv);

  std::printf("load average before: %s\n", LoadAverage().c_str());
  const std::string weights =
      (std::filesystem::temp_directory_path() /
       ("flopwise-eval-bench-" + std::to_string(::getpid()) + ".safetensors"))
          .string();
  for (models::Arch arch :
       {models::Arch::kLlama, models::Arch::kTnl, models::Arch::kHgrn2, models::Arch::kCos2}) {
    auto config = models::FindPreset(arch, preset, vocab, context);
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      return 1;
    }
    models::Rng rng(1);
    std::vector<int32_t> windows(int64_t{batch} * (context + 1));
    for (int32_t& id : windows) id = static_cast<int32_t>(rng.NextU64() % vocab);
    std::vector<int32_t> inputs(int64_t{batch} * context), targets(inputs.size());
    for (int r = 0; r < batch; ++r) {
      for (int t = 0; t < context; ++t) {
        inputs[int64_t{r} * context + t] = windows[int64_t{r} * (context + 1) + t];
        targets[int64_t{r} * context + t] = windows[int64_t{r} * (context + 1) + t + 1];
      }
    }

    std::unique_ptr<kernels::Backend> backend = kernels::MakeCpuBackend(threads);
    auto model = models::Model::Create(*config, batch, backend.get());
    if (!model.ok()) return 1;
    (*model)->InitParams(&rng);
    if (!train::WriteArenas(**model, {{train::Arena::kParams, ""}}, weights).ok()) return 1;
    auto evaluator = eval::CheckpointModel::Load(weights, context, batch, threads);
    if (!evaluator.ok()) return 1;
    std::vector<float> losses;
    const std::function<void()> train_step = [&] {
      (*model)->ZeroGrads();
      (*model)->ForwardBackward(inputs.data(), targets.data(), 1.0f / inputs.size());
      (*model)->AdamWStep(models::AdamWOptions(), 1e-4f, 1, 1.0f);
    };
    const std::function<void()> eval_pass = [&] {
      (void)(*evaluator)->WindowLosses(windows, &losses);
    };
    train_step();  // warm-up of both sides
    eval_pass();

    const double tokens = static_cast<double>(steps) * batch * context;
    std::vector<double> train_rate, eval_rate, ratio;
    for (int r = 0; r < repeats; ++r) {
      const double train_s = Seconds(train_step, steps);
      const double eval_s = Seconds(eval_pass, steps);
      train_rate.push_back(tokens / train_s);
      eval_rate.push_back(tokens / eval_s);
      ratio.push_back(train_s / eval_s);
    }
    std::printf("%-5s %s ctx=%d batch=%d train=%s eval=%s eval/train=%s n=%d\n",
                std::string(models::ArchName(arch)).c_str(), preset.c_str(), context, batch,
                Summary(train_rate, "%.0f").c_str(), Summary(eval_rate, "%.0f").c_str(),
                Summary(ratio, "%.2f").c_str(), repeats);
    std::fflush(stdout);
  }
  std::filesystem::remove(weights);
  std::printf("load average after: %s\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace flopwise

int main(int argc, char** argv) { return flopwise::Main(argc, argv); }
