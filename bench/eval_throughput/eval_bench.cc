// Forward-only evaluation throughput against the training step, per
// architecture, on the CPU backend:
//   <arch> <preset> ctx=<n> batch=<b> train=<tokens/s> eval=<tokens/s> eval/train=<ratio>
// Training is Model::ForwardBackward + AdamWStep; evaluation is
// CheckpointModel::WindowLosses (what `flopwise-train eval` runs) on weights
// written to a temporary file. The ratio is about 3 when backward costs twice
// the forward (6N against 2N FLOPs per token).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
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
  fn();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Main(int argc, char** argv) {
  CLI::App app{"eval_bench: forward-only evaluation vs training tokens/s"};
  std::string preset = "cpu-3";
  int context = 256, batch = 4, steps = 5, threads = 1, vocab = 264;
  app.add_option("--preset", preset, "CPU ladder or paper preset");
  app.add_option("--context", context, "Tokens per sequence");
  app.add_option("--batch", batch, "Sequences per step / forward");
  app.add_option("--steps", steps, "Timed steps after one warm-up");
  app.add_option("--threads", threads, "CPU threads");
  app.add_option("--vocab", vocab, "Vocabulary (264: byte level)");
  CLI11_PARSE(app, argc, argv);

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
    const double train_s = Seconds(
        [&] {
          (*model)->ZeroGrads();
          (*model)->ForwardBackward(inputs.data(), targets.data(), 1.0f / inputs.size());
          (*model)->AdamWStep(models::AdamWOptions(), 1e-4f, 1, 1.0f);
        },
        steps);
    if (!train::WriteArenas(**model, {{train::Arena::kParams, ""}}, weights).ok()) return 1;
    model->reset();

    auto evaluator = eval::CheckpointModel::Load(weights, context, batch, threads);
    if (!evaluator.ok()) return 1;
    std::vector<float> losses;
    const double eval_s =
        Seconds([&] { (void)(*evaluator)->WindowLosses(windows, &losses); }, steps);
    const double tokens = static_cast<double>(steps) * batch * context;
    std::printf("%-5s %s ctx=%d batch=%d train=%.0f eval=%.0f eval/train=%.2f\n",
                std::string(models::ArchName(arch)).c_str(), preset.c_str(), context, batch,
                tokens / train_s, tokens / eval_s, train_s / eval_s);
    std::fflush(stdout);
  }
  std::filesystem::remove(weights);
  return 0;
}

}  // namespace
}  // namespace flopwise

int main(int argc, char** argv) { return flopwise::Main(argc, argv); }
