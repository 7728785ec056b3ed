#include "worker/eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "worker/data/token_stream.h"
#include "worker/eval/checkpoint_model.h"
#include "worker/eval/haystack.h"
#include "worker/eval/heatmap.h"
#include "worker/eval/task_names.h"
#include "worker/train/checkpoint.h"

namespace flopwise::eval {
namespace fs = std::filesystem;
namespace {

constexpr char kWeightsFile[] = "model.safetensors";
// Haystack text read per needle length: room for a random offset.
constexpr int64_t kHaystackLengths = 4;
// Multiple-choice windows grow in these steps when a choice needs more room.
constexpr int kMcWindowStep = 64;

struct ResolvedCheckpoint {
  std::string weights;
  int64_t step = -1;
  int64_t tokens = -1;
};

absl::StatusOr<ResolvedCheckpoint> ResolveCheckpoint(const std::string& path) {
  if (!fs::exists(path)) {
    return absl::NotFoundError(absl::StrCat("checkpoint ", path, ": not found"));
  }
  fs::path dir = path;
  if (fs::is_directory(dir) && !fs::exists(dir / kWeightsFile)) {
    const std::optional<std::string> latest = train::FindLatestCheckpoint(path);
    if (!latest) {
      return absl::NotFoundError(
          absl::StrCat("checkpoint ", path, ": neither model.safetensors nor a step-* checkpoint"));
    }
    dir = *latest;
  }
  ResolvedCheckpoint resolved;
  resolved.weights = fs::is_directory(dir) ? (dir / kWeightsFile).string() : dir.string();
  const fs::path state = fs::path(resolved.weights).parent_path() / "state.json";
  if (fs::exists(state)) {
    std::ifstream in(state);
    std::stringstream text;
    text << in.rdbuf();
    const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
    if (j.is_object()) {
      resolved.step = j.value("step", int64_t{-1});
      resolved.tokens = j.value("tokens", int64_t{-1});
    }
  }
  return resolved;
}

// Every task name expanded ("needle" is both modes) and checked.
absl::StatusOr<std::vector<std::string>> ExpandTasks(const std::vector<std::string>& tasks) {
  if (tasks.empty()) return absl::InvalidArgumentError("--tasks: no task given");
  std::vector<std::string> out;
  for (const std::string& task : tasks) {
    if (task == "needle") {
      out.push_back("needle-easy");
      out.push_back("needle-standard");
      continue;
    }
    if (absl::Status known = CheckTaskName(task); !known.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--tasks: ", known.message()));
    }
    out.push_back(task);
  }
  return out;
}

// Models by window length, loaded on first use.
class ModelCache {
 public:
  ModelCache(std::string weights, const EvalOptions& options)
      : weights_(std::move(weights)), options_(options) {}

  absl::StatusOr<CheckpointModel*> Get(int context) {
    auto it = models_.find(context);
    if (it != models_.end()) return it->second.get();
    auto model = CheckpointModel::Load(weights_, context, options_.batch, options_.threads);
    if (!model.ok()) return model.status();
    CheckpointModel* raw = model->get();
    models_[context] = *std::move(model);
    return raw;
  }

 private:
  std::string weights_;
  const EvalOptions& options_;
  std::map<int, std::unique_ptr<CheckpointModel>> models_;
};

// What several tasks read: the held-out split and the tokenizer.
class TaskInputs {
 public:
  explicit TaskInputs(const EvalOptions& options) : options_(options) {}

  absl::StatusOr<std::string> SplitPath() const {
    if (options_.data.empty()) return absl::InvalidArgumentError("--data: needed by this task");
    return ValidationSplitPath(options_.data);
  }

  // --tokenizer, else the one the data's shard header names, else "".
  absl::StatusOr<std::string> TokenizerName() const {
    if (!options_.tokenizer.empty() || options_.data.empty()) return options_.tokenizer;
    auto split = SplitPath();
    if (!split.ok()) return split.status();
    data::StreamOptions stream_options;
    stream_options.sequence_length = 1;
    auto stream = data::TokenStream::Open(*split, stream_options);
    if (!stream.ok()) return stream.status();
    return (*stream)->tokenizer_name();
  }

  absl::StatusOr<const data::Tokenizer*> GetTokenizer() {
    if (tokenizer_) return tokenizer_.get();
    auto name = TokenizerName();
    if (!name.ok()) return name.status();
    if (name->empty()) {
      return absl::InvalidArgumentError(
          "--tokenizer: needed (the data's header names no tokenizer, or no --data was given)");
    }
    auto tokenizer = data::Tokenizer::Load(*name);
    if (!tokenizer.ok()) return tokenizer.status();
    tokenizer_ = *std::move(tokenizer);
    return tokenizer_.get();
  }

 private:
  const EvalOptions& options_;
  std::unique_ptr<data::Tokenizer> tokenizer_;
};

absl::Status RunValidation(const EvalReport& report, const EvalOptions& o, ModelCache* models,
                           TaskInputs* inputs, TaskResult* result) {
  auto split = inputs->SplitPath();
  if (!split.ok()) return split.status();
  int64_t tokens = o.validation_tokens;
  if (tokens <= 0) {
    tokens = report.training_tokens >= 0
                 ? DefaultValidationTokens(report.training_tokens, o.context)
                 : kValidationTokenCap;
  }
  auto windows =
      ReadValidationWindows(*split, o.context, o.seed, ValidationWindowCount(tokens, o.context));
  if (!windows.ok()) return windows.status();
  const data::Tokenizer* tokenizer = nullptr;  // without one: no bits per byte
  auto name = inputs->TokenizerName();
  if (!name.ok()) return name.status();
  if (!name->empty()) {
    auto loaded = inputs->GetTokenizer();
    if (!loaded.ok()) return loaded.status();
    tokenizer = *loaded;
  }
  auto model = models->Get(o.context);
  if (!model.ok()) return model.status();
  const int64_t before = (*model)->forward_tokens();
  auto validation = EvaluateValidation(*model, *windows, tokenizer);
  if (!validation.ok()) return validation.status();
  result->validation = *validation;
  result->forward_tokens = (*model)->forward_tokens() - before;
  return absl::OkStatus();
}

absl::Status RunNeedleTask(NeedleMode mode, const EvalReport& report, const EvalOptions& o,
                           ModelCache* models, TaskInputs* inputs, TaskResult* result) {
  auto split = inputs->SplitPath();
  if (!split.ok()) return split.status();
  auto tokenizer = inputs->GetTokenizer();
  if (!tokenizer.ok()) return tokenizer.status();
  auto overhead = NeedleOverheadTokens(mode, **tokenizer);
  if (!overhead.ok()) return overhead.status();
  NeedleOptions needle = o.needle;
  const NeedleOptions defaults = DefaultNeedleOptions(o.context, *overhead);
  if (needle.lengths.empty()) needle.lengths = defaults.lengths;
  if (needle.depths.empty()) needle.depths = defaults.depths;
  needle.seed = o.seed;
  const int longest = needle.lengths.back();
  auto haystack = ReadHaystack(*split, **tokenizer, kHaystackLengths * longest);
  if (!haystack.ok()) return haystack.status();
  auto model = models->Get(longest);
  if (!model.ok()) return model.status();
  const int64_t before = (*model)->forward_tokens();
  auto run = RunNeedle(mode, *haystack, **tokenizer, needle, *model);
  if (!run.ok()) return run.status();
  result->needle = *run;
  result->forward_tokens = (*model)->forward_tokens() - before;
  if (!o.figures_dir.empty()) {
    fs::create_directories(o.figures_dir);
    const std::string stem =
        (fs::path(o.figures_dir) /
         absl::StrCat("needle-", NeedleModeName(mode), "-step-", std::max<int64_t>(report.step, 0)))
            .string();
    const std::string title =
        absl::StrCat(report.arch, " step ", report.step, ": needle (", NeedleModeName(mode), ")");
    if (absl::Status s = WriteNeedleHeatmap(run->grid, title, stem); !s.ok()) return s;
    result->figures = {stem + ".svg", stem + ".png"};
  }
  return absl::OkStatus();
}

// The run's context, or more when a choice would not fit it whole: the
// longest choice plus room for the start of its context, in steps of
// kMcWindowStep tokens.
absl::StatusOr<int> McWindow(const std::vector<McDocument>& documents,
                             const data::Tokenizer& tokenizer, int context) {
  size_t longest = 0;
  std::vector<int32_t> ids;
  for (const McDocument& doc : documents) {
    for (const std::string& choice : doc.choices) {
      ids.clear();
      if (absl::Status s = tokenizer.Encode(" " + choice, data::SpecialTokens::kAsText, &ids);
          !s.ok()) {
        return s;
      }
      longest = std::max(longest, ids.size());
    }
  }
  const int needed = static_cast<int>(longest) + kMcWindowStep;
  if (needed <= context) return context;
  return (needed + kMcWindowStep - 1) / kMcWindowStep * kMcWindowStep;
}

absl::Status RunMultipleChoice(const std::string& task, const EvalOptions& o, ModelCache* models,
                               TaskInputs* inputs, TaskResult* result) {
  std::vector<McDocument> documents;
  std::string name = task;
  if (IsTaskFile(task)) {
    auto read = ReadMcTaskFile(task);
    if (!read.ok()) return read.status();
    documents = *std::move(read);
    name = fs::path(task).stem().string();
  } else {
    ContinuationTaskOptions continuation = o.continuation;
    continuation.seed = o.seed;
    auto made = MakeBrownContinuationTask(continuation);
    if (!made.ok()) return made.status();
    documents = *std::move(made);
  }
  auto tokenizer = inputs->GetTokenizer();
  if (!tokenizer.ok()) return tokenizer.status();
  auto window = McWindow(documents, **tokenizer, o.context);
  if (!window.ok()) return window.status();
  auto model = models->Get(*window);
  if (!model.ok()) return model.status();
  const int64_t before = (*model)->forward_tokens();
  auto scored = ScoreMultipleChoice(name, documents, **tokenizer, *model);
  if (!scored.ok()) return scored.status();
  result->multiple_choice = *scored;
  result->forward_tokens = (*model)->forward_tokens() - before;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EvalReport> RunEvaluation(
    const std::string& checkpoint, const std::vector<std::string>& tasks, const EvalOptions& o,
    const std::function<void(const EvalReport&, const TaskResult&)>& on_result) {
  if (o.context <= 0) return absl::InvalidArgumentError("--context: must be positive");
  if (o.batch <= 0) return absl::InvalidArgumentError("--batch: must be positive");
  auto expanded = ExpandTasks(tasks);
  if (!expanded.ok()) return expanded.status();
  auto resolved = ResolveCheckpoint(checkpoint);
  if (!resolved.ok()) return resolved.status();
  EvalReport report;
  report.weights = resolved->weights;
  report.step = resolved->step;
  report.training_tokens = resolved->tokens;
  report.context = o.context;
  ModelCache models(report.weights, o);
  auto model = models.Get(o.context);  // reads the weights first: a bad file fails early
  if (!model.ok()) return model.status();
  report.arch = std::string(models::ArchName((*model)->config().arch));
  TaskInputs inputs(o);
  for (const std::string& task : *expanded) {
    TaskResult result;
    result.task = IsTaskFile(task) ? fs::path(task).stem().string() : task;
    const auto start = std::chrono::steady_clock::now();
    absl::Status status;
    if (task == "validation") {
      status = RunValidation(report, o, &models, &inputs, &result);
    } else if (task == "needle-easy" || task == "needle-standard") {
      const NeedleMode mode = task == "needle-easy" ? NeedleMode::kEasy : NeedleMode::kStandard;
      status = RunNeedleTask(mode, report, o, &models, &inputs, &result);
    } else {
      status = RunMultipleChoice(task, o, &models, &inputs, &result);
    }
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat(result.task, ": ", status.message()));
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.results.push_back(std::move(result));
    if (on_result) on_result(report, report.results.back());
  }
  return report;
}

}  // namespace flopwise::eval
