#include "server/sweep_spec.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "base/yaml_document.h"
#include "models/size_limits.h"
#include "server/limits.h"
#include "server/spec_paths.h"
#include "worker/eval/task_names.h"

namespace flopwise::server {

void SpecProblems::Add(std::string_view path, std::string_view message) {
  lines_.push_back(path.empty() ? std::string(message) : Cat(path, ": ", message));
}

absl::Status SpecProblems::ToStatus() const {
  if (lines_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n"));
}

namespace {

std::string Child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : Cat(path, ".", key);
}

std::string Index(std::string_view path, size_t i) { return Cat(path, "[", i, "]"); }

// Parses "300000", "3e5", "300K", "2.5M", "300B", "1T" (K=1e3, M=1e6, B=G=1e9,
// T=1e12) into an integer count. Returns nullopt when the text is none of these.
std::optional<int64_t> ParseCount(std::string text) {
  double scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        scale = 1e3;
        break;
      case 'M':
        scale = 1e6;
        break;
      case 'B':
      case 'G':
        scale = 1e9;
        break;
      case 'T':
        scale = 1e12;
        break;
      default:
        break;
    }
    if (scale != 1) text.pop_back();
  }
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end) * scale;
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  const double rounded = std::round(value);
  if (std::abs(value - rounded) > 1e-9 * std::max(1.0, std::abs(value))) return std::nullopt;
  if (std::abs(rounded) >= 9.2e18) return std::nullopt;
  return static_cast<int64_t>(rounded);
}

// Parses "4096", "512MiB", "8GiB", "1.5TiB" into bytes.
std::optional<int64_t> ParseBytes(std::string text) {
  static const std::pair<std::string_view, double> kUnits[] = {
      {"KiB", 1024.0},
      {"MiB", 1024.0 * 1024},
      {"GiB", 1024.0 * 1024 * 1024},
      {"TiB", 1024.0 * 1024 * 1024 * 1024}};
  double scale = 1;
  for (const auto& [suffix, unit_scale] : kUnits) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      text.resize(text.size() - suffix.size());
      scale = unit_scale;
      break;
    }
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end) * scale;
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) ||
      value >= 9.2e18) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(value));
}

// Reads typed values from YAML nodes, recording a problem for each bad one.
class Reader {
 public:
  explicit Reader(SpecProblems* problems) : problems_(problems) {}

  void Problem(std::string_view path, std::string_view message) { problems_->Add(path, message); }
  size_t problem_count() const { return problems_->size(); }

  // Records "unknown field" for every key of `map` not in `allowed`.
  void CheckKeys(const YAML::Node& map, std::string_view path,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& entry : map) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
      bool known = false;
      for (std::string_view name : allowed) known = known || name == key;
      if (!known) Problem(Child(path, key), "unknown field");
    }
  }

  bool IsMap(const YAML::Node& node, std::string_view path) {
    if (node.IsMap()) return true;
    Problem(path, "must be a mapping");
    return false;
  }

  std::optional<std::string> String(const YAML::Node& node, std::string_view path) {
    if (!node.IsScalar()) {
      Problem(path, "must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<int64_t> Integer(const YAML::Node& node, std::string_view path, int64_t min,
                                 int64_t max) {
    std::optional<int64_t> value;
    if (node.IsScalar()) value = ParseCount(node.Scalar());
    if (!value) {
      Problem(path, "must be an integer");
      return std::nullopt;
    }
    if (*value < min || *value > max) {
      Problem(path, max == std::numeric_limits<int64_t>::max()
                        ? Cat("must be at least ", min, " (got ", *value, ")")
                        : Cat("must be in [", min, ", ", max, "] (got ", *value, ")"));
      return std::nullopt;
    }
    return value;
  }

  std::optional<int> Int(const YAML::Node& node, std::string_view path, int min, int max) {
    auto value = Integer(node, path, min, max);
    if (!value) return std::nullopt;
    return static_cast<int>(*value);
  }

  std::optional<double> Double(const YAML::Node& node, std::string_view path) {
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      char* end = nullptr;
      const double value = std::strtod(text.c_str(), &end);
      if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(value)) return value;
    }
    Problem(path, "must be a finite number");
    return std::nullopt;
  }

  std::optional<bool> Bool(const YAML::Node& node, std::string_view path) {
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      if (text == "true" || text == "yes" || text == "on") return true;
      if (text == "false" || text == "no" || text == "off") return false;
    }
    Problem(path, "must be true or false");
    return std::nullopt;
  }

  // A non-empty sequence; records a problem and returns false otherwise.
  bool NonEmptySequence(const YAML::Node& node, std::string_view path) {
    if (!node.IsSequence()) {
      Problem(path, "must be a list");
      return false;
    }
    if (node.size() == 0) {
      Problem(path, "must not be empty");
      return false;
    }
    return true;
  }

 private:
  SpecProblems* problems_;
};

// `path`, read at `field`, made absolute against `base_dir` (server/spec_paths.h);
// nullopt after recording the problem.
std::optional<std::string> ResolvedPath(Reader& reader, std::string_view field,
                                        std::string_view path, std::string_view base_dir) {
  absl::StatusOr<std::string> resolved = ResolveSpecPath(path, base_dir);
  if (!resolved.ok()) {
    reader.Problem(field, std::string(resolved.status().message()));
    return std::nullopt;
  }
  return *std::move(resolved);
}

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

void CheckName(Reader& reader, const std::string& name, std::string_view path) {
  if (name.empty()) {
    reader.Problem(path, "must not be empty");
    return;
  }
  if (name.size() > 64) reader.Problem(path, "must be at most 64 characters");
  for (char c : name) {
    if (!IsNameChar(c)) {
      reader.Problem(path, "may contain only letters, digits, '-', '_' and '.'");
      return;
    }
  }
}

std::vector<std::string> ParseArchitectures(Reader& reader, const YAML::Node& node,
                                            const std::string& path) {
  std::vector<std::string> archs;
  if (!reader.NonEmptySequence(node, path)) return archs;
  std::set<std::string> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = Index(path, i);
    auto name = reader.String(node[i], item_path);
    if (!name) continue;
    // models::ParseArch's message is "arch: unknown architecture ...".
    if (absl::Status known = models::ParseArch(*name).status(); !known.ok()) {
      reader.Problem(item_path, std::string(absl::StripPrefix(known.message(), "arch: ")));
    } else if (!seen.insert(*name).second) {
      reader.Problem(item_path, Cat("duplicate architecture '", *name, "'"));
    } else {
      archs.push_back(*name);
    }
  }
  return archs;
}

std::vector<SizeSpec> ParseSizes(Reader& reader, const YAML::Node& node, const std::string& path) {
  std::vector<SizeSpec> sizes;
  if (!reader.NonEmptySequence(node, path)) return sizes;
  for (size_t i = 0; i < node.size(); ++i) {
    SizeSpec size;
    size.path = Index(path, i);
    const size_t problems_before = reader.problem_count();
    const YAML::Node item = node[i];
    if (item.IsScalar()) {
      size.preset = item.Scalar();
      size.preset_path = size.path;
      size.label = size.preset;
      sizes.push_back(std::move(size));
      continue;
    }
    if (!item.IsMap()) {
      reader.Problem(size.path, "must be a preset name or a mapping");
      continue;
    }
    reader.CheckKeys(item, size.path,
                     {"name", "preset", "layers", "d_model", "heads", "head_dim", "ffn_dim",
                      "gate_rank", "tpe_dim"});
    struct Field {
      const char* key;
      std::optional<int>* value;
      int min;
    };
    const Field fields[] = {{"layers", &size.layers, 1},   {"d_model", &size.d_model, 1},
                            {"heads", &size.heads, 1},     {"head_dim", &size.head_dim, 1},
                            {"ffn_dim", &size.ffn_dim, 1}, {"gate_rank", &size.gate_rank, 0},
                            {"tpe_dim", &size.tpe_dim, 0}};
    // Any int here: the model's checks name the limit and its reason
    // (models/size_limits.h).
    for (const Field& field : fields) {
      if (item[field.key]) {
        *field.value = reader.Int(item[field.key], Child(size.path, field.key), field.min, kMaxInt);
      }
    }
    size.preset_path = Child(size.path, "preset");
    if (item["preset"]) size.preset = reader.String(item["preset"], size.preset_path).value_or("");
    if (item["name"]) {
      size.label = reader.String(item["name"], Child(size.path, "name")).value_or("");
      CheckName(reader, size.label, Child(size.path, "name"));
    }
    if (size.preset.empty() && !item["preset"]) {
      for (const char* key : {"layers", "d_model", "heads", "ffn_dim"}) {
        if (!item[key]) {
          reader.Problem(Child(size.path, key), "required for an explicit shape (or set preset)");
        }
      }
    }
    size.complete = reader.problem_count() == problems_before;
    if (size.label.empty()) {
      size.label =
          size.preset.empty()
              ? Cat("L", size.layers.value_or(0), "-d", size.d_model.value_or(0))
              : Cat(size.preset, "-L", size.layers.value_or(0), "-d", size.d_model.value_or(0));
    }
    sizes.push_back(std::move(size));
  }
  return sizes;
}

std::vector<int> ParseContexts(Reader& reader, const YAML::Node& node, const std::string& path) {
  std::vector<int> contexts;
  if (!reader.NonEmptySequence(node, path)) return contexts;
  std::set<int> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    auto context = reader.Int(node[i], Index(path, i), 1, models::kMaxContext);
    if (!context) continue;
    if (!seen.insert(*context).second) {
      reader.Problem(Index(path, i), Cat("duplicate context ", *context));
    } else {
      contexts.push_back(*context);
    }
  }
  return contexts;
}

// Reads a `model` mapping into `flags`, leaving unset keys as they are (the
// top-level values a grid inherits). Keys and values are those of
// models::ModelFlags().
void ParseModelFlags(Reader& reader, const YAML::Node& node, const std::string& path,
                     models::ModelFlagValues* flags) {
  if (!reader.IsMap(node, path)) return;
  for (const auto& entry : node) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    const models::ModelFlag* flag = models::FindModelFlag(key);
    const std::string field = Child(path, key);
    if (flag == nullptr) {
      reader.Problem(field, "unknown field");
      continue;
    }
    std::string text;
    if (flag->kind == models::FlagKind::kBool) {
      std::optional<bool> value = reader.Bool(entry.second, field);
      if (!value) continue;
      text = *value ? "true" : "false";
    } else {
      std::optional<std::string> value = reader.String(entry.second, field);
      if (!value) continue;
      text = *value;
    }
    // The flag's parser names the key: "v_act: unknown activation 'relu' (...)".
    models::ModelConfig scratch;
    if (absl::Status s = flag->set(text, &scratch); !s.ok()) {
      reader.Problem("", Cat(path, ".", s.message()));
      continue;
    }
    (*flags)[key] = text;
  }
}

// Reads the grid fields of `node` into `grid`, leaving unset ones as they are
// (the top-level values a grid inherits).
void ParseGridFields(Reader& reader, const YAML::Node& node, const std::string& path,
                     GridSpec* grid) {
  if (node["architectures"]) {
    grid->architectures =
        ParseArchitectures(reader, node["architectures"], Child(path, "architectures"));
  }
  if (node["sizes"]) grid->sizes = ParseSizes(reader, node["sizes"], Child(path, "sizes"));
  if (node["contexts"])
    grid->contexts = ParseContexts(reader, node["contexts"], Child(path, "contexts"));
  if (node["tokens"] || node["tokens_per_param"]) {
    grid->tokens.reset();
    grid->tokens_per_param.reset();
  }
  if (node["tokens"])
    grid->tokens = reader.Integer(node["tokens"], Child(path, "tokens"), 1, kMaxTokens);
  if (node["tokens_per_param"]) {
    const std::string field = Child(path, "tokens_per_param");
    if (node["tokens"]) {
      reader.Problem(field, "conflicts with tokens (set one of them)");
    } else if (auto ratio = reader.Double(node["tokens_per_param"], field)) {
      if (*ratio <= 0) {
        reader.Problem(field, "must be positive");
      } else {
        grid->tokens_per_param = *ratio;
      }
    }
  }
  if (node["batch_tokens"]) {
    grid->batch_tokens =
        reader.Integer(node["batch_tokens"], Child(path, "batch_tokens"), 1, kMaxTokens)
            .value_or(0);
  }
  if (node["model"]) {
    ParseModelFlags(reader, node["model"], Child(path, "model"), &grid->model_flags);
  }
}

// Checks that an (inherited) grid is complete and consistent: every step's
// batch splits into whole sequences over grad_accum micro-steps and
// `replicas` ranks.
void CheckGrid(Reader& reader, const GridSpec& grid, const YAML::Node& node, int grad_accum,
               int replicas) {
  auto missing = [&](const char* key) {
    return !node[key];  // a present but bad value has its own problem already
  };
  if (grid.architectures.empty() && missing("architectures")) {
    reader.Problem(Child(grid.path, "architectures"), "required");
  }
  if (grid.sizes.empty() && missing("sizes")) reader.Problem(Child(grid.path, "sizes"), "required");
  if (grid.contexts.empty() && missing("contexts")) {
    reader.Problem(Child(grid.path, "contexts"), "required");
  }
  if (!grid.tokens && !grid.tokens_per_param && missing("tokens") && missing("tokens_per_param")) {
    reader.Problem(Child(grid.path, "tokens"), "required (or tokens_per_param)");
  }
  if (grid.batch_tokens == 0 && missing("batch_tokens")) {
    reader.Problem(Child(grid.path, "batch_tokens"), "required");
  }
  if (grid.batch_tokens <= 0 || grad_accum <= 0) return;
  for (size_t i = 0; i < grid.contexts.size(); ++i) {
    const int64_t micro = static_cast<int64_t>(grid.contexts[i]) * grad_accum * replicas;
    if (grid.batch_tokens % micro != 0) {
      reader.Problem(
          Index(Child(grid.path, "contexts"), i),
          Cat("batch_tokens (", grid.batch_tokens, ") must be a multiple of context x ",
              replicas > 1 ? "grad_accum x resources.replicas (" : "grad_accum (", micro, ")"));
    }
  }
  if (grid.tokens && *grid.tokens < grid.batch_tokens) {
    reader.Problem(Child(grid.path, "tokens"),
                   Cat("must be at least batch_tokens (", grid.batch_tokens, ")"));
  }
}

void ParseOptimizer(Reader& reader, const YAML::Node& node, OptimizerSpec* optimizer) {
  const std::string path = "optimizer";
  if (!reader.IsMap(node, path)) return;
  reader.CheckKeys(
      node, path,
      {"name", "lr", "weight_decay", "beta1", "beta2", "schedule", "warmup_tokens", "min_lr"});
  if (node["name"]) {
    auto name = reader.String(node["name"], "optimizer.name");
    if (name && *name != "adamw") reader.Problem("optimizer.name", "must be adamw");
  }
  if (node["lr"]) {
    auto lr = reader.Double(node["lr"], "optimizer.lr");
    if (lr && (*lr <= 0 || *lr > 1)) reader.Problem("optimizer.lr", "must be in (0, 1]");
    if (lr) optimizer->lr = *lr;
  }
  if (node["weight_decay"]) {
    auto wd = reader.Double(node["weight_decay"], "optimizer.weight_decay");
    if (wd && *wd < 0) reader.Problem("optimizer.weight_decay", "must not be negative");
    if (wd) optimizer->weight_decay = *wd;
  }
  for (auto [key, value] : {std::pair{"beta1", &optimizer->beta1}, {"beta2", &optimizer->beta2}}) {
    if (!node[key]) continue;
    const std::string field = Child(path, key);
    auto beta = reader.Double(node[key], field);
    if (beta && (*beta < 0 || *beta >= 1)) reader.Problem(field, "must be in [0, 1)");
    if (beta) *value = *beta;
  }
  if (node["schedule"]) {
    auto schedule = reader.String(node["schedule"], "optimizer.schedule");
    if (schedule && *schedule != "constant" && *schedule != "cosine") {
      reader.Problem("optimizer.schedule", "must be constant or cosine");
    } else if (schedule) {
      optimizer->schedule = *schedule;
    }
  }
  if (node["warmup_tokens"]) {
    optimizer->warmup_tokens =
        reader.Integer(node["warmup_tokens"], "optimizer.warmup_tokens", 0, kMaxTokens).value_or(0);
  }
  if (node["min_lr"]) {
    auto min_lr = reader.Double(node["min_lr"], "optimizer.min_lr");
    if (min_lr && (*min_lr < 0 || *min_lr > optimizer->lr)) {
      reader.Problem("optimizer.min_lr", "must be in [0, lr]");
    } else if (min_lr) {
      optimizer->min_lr = *min_lr;
    }
  }
}

void ParseResources(Reader& reader, const YAML::Node& node, ResourceSpec* resources) {
  if (!reader.IsMap(node, "resources")) return;
  reader.CheckKeys(node, "resources", {"cpu_cores", "gpus", "memory", "replicas"});
  if (node["cpu_cores"]) {
    resources->cpu_cores =
        reader.Int(node["cpu_cores"], "resources.cpu_cores", 1, 4096).value_or(1);
  }
  if (node["gpus"]) resources->gpus = reader.Int(node["gpus"], "resources.gpus", 0, 64).value_or(0);
  if (node["replicas"]) {
    resources->replicas =
        reader.Int(node["replicas"], "resources.replicas", 1, kMaxReplicas).value_or(1);
  }
  if (node["memory"]) {
    std::optional<int64_t> bytes;
    if (node["memory"].IsScalar()) bytes = ParseBytes(node["memory"].Scalar());
    if (!bytes || *bytes < 0) {
      reader.Problem("resources.memory", "must be a byte count such as 4096, 512MiB or 8GiB");
    } else {
      resources->memory_bytes = *bytes;
    }
  }
}

// The `evaluation` section. Task names are checked here and task files made
// absolute; the files themselves only by the worker that reads them (a file
// it cannot read fails that eval job, not the run).
void ParseEvaluation(Reader& reader, const YAML::Node& node, std::string_view base_dir,
                     SweepSpec* spec) {
  const std::string path = "evaluation";
  if (!reader.IsMap(node, path)) return;
  reader.CheckKeys(node, path,
                   {"tasks", "every_checkpoint", "every_k", "validation_tokens", "priority",
                    "needle_lengths", "needle_depths", "needle_trials", "seed"});
  ::flopwise::v1::EvaluationSpec evaluation;
  evaluation.set_priority(spec->priority);
  if (!node["tasks"]) {
    reader.Problem("evaluation.tasks", "required");
  } else if (reader.NonEmptySequence(node["tasks"], "evaluation.tasks")) {
    std::set<std::string> seen;
    for (size_t i = 0; i < node["tasks"].size(); ++i) {
      const std::string item_path = Index("evaluation.tasks", i);
      auto task = reader.String(node["tasks"][i], item_path);
      if (!task) continue;
      if (absl::Status known = eval::CheckTaskName(*task); !known.ok()) {
        reader.Problem(item_path, std::string(known.message()));
        continue;
      }
      if (eval::IsTaskFile(*task)) task = ResolvedPath(reader, item_path, *task, base_dir);
      if (!task) continue;
      if (!seen.insert(*task).second) {
        reader.Problem(item_path, Cat("duplicate task \"", *task, "\""));
      } else {
        evaluation.add_tasks(*task);
      }
    }
  }
  if (node["every_checkpoint"]) {
    evaluation.set_every_checkpoint(
        reader.Bool(node["every_checkpoint"], "evaluation.every_checkpoint").value_or(false));
  }
  if (node["every_k"]) {
    evaluation.set_every_k(
        reader.Int(node["every_k"], "evaluation.every_k", 1, kMaxInt).value_or(1));
    if (!evaluation.every_checkpoint()) {
      reader.Problem("evaluation.every_k", "needs every_checkpoint: true");
    }
  }
  if (node["validation_tokens"]) {
    evaluation.set_validation_tokens(
        reader.Integer(node["validation_tokens"], "evaluation.validation_tokens", 1, kMaxInt64)
            .value_or(0));
  }
  if (node["priority"]) {
    evaluation.set_priority(
        reader.Int(node["priority"], "evaluation.priority", -1000, 1000).value_or(0));
  }
  if (node["needle_lengths"] &&
      reader.NonEmptySequence(node["needle_lengths"], "evaluation.needle_lengths")) {
    for (size_t i = 0; i < node["needle_lengths"].size(); ++i) {
      if (auto length = reader.Int(node["needle_lengths"][i], Index("evaluation.needle_lengths", i),
                                   1, 1 << 20)) {
        evaluation.add_needle_lengths(*length);
      }
    }
  }
  if (node["needle_depths"] &&
      reader.NonEmptySequence(node["needle_depths"], "evaluation.needle_depths")) {
    for (size_t i = 0; i < node["needle_depths"].size(); ++i) {
      const std::string item_path = Index("evaluation.needle_depths", i);
      auto depth = reader.Double(node["needle_depths"][i], item_path);
      if (depth && (*depth < 0 || *depth > 1)) {
        reader.Problem(item_path, "must be in [0, 1]");
      } else if (depth) {
        evaluation.add_needle_depths(*depth);
      }
    }
  }
  if (node["needle_trials"]) {
    evaluation.set_needle_trials(
        reader.Int(node["needle_trials"], "evaluation.needle_trials", 1, 1000).value_or(1));
  }
  if (node["seed"]) {
    evaluation.set_seed(static_cast<uint64_t>(
        reader.Integer(node["seed"], "evaluation.seed", 1, kMaxInt64).value_or(1)));
  }
  spec->evaluation = std::move(evaluation);
}

// After the resources: bf16 runs on the CUDA backend only (the CPU backend
// computes in fp32), so such a run must ask for a GPU.
void ParsePrecision(Reader& reader, const YAML::Node& node, SweepSpec* spec) {
  auto precision = reader.String(node, "precision");
  if (!precision) return;
  if (*precision != "fp32" && *precision != "bf16") {
    reader.Problem("precision", "must be fp32 or bf16");
  } else if (*precision == "bf16" && spec->resources.gpus < 1) {
    reader.Problem("precision",
                   "bf16 runs on a GPU only (the CPU backend computes in fp32): set "
                   "resources.gpus to at least 1, or use fp32");
  } else {
    spec->precision = *precision;
  }
}

void ParseTopLevel(Reader& reader, const YAML::Node& root, std::string_view base_dir,
                   SweepSpec* spec) {
  reader.CheckKeys(
      root, "", {"name",      "description", "priority",         "max_attempts",  "seed",
                 "vocab",     "data",        "grad_accum",       "checkpoint",    "log_every_steps",
                 "optimizer", "evaluation",  "resources",        "architectures", "sizes",
                 "contexts",  "tokens",      "tokens_per_param", "batch_tokens",  "model",
                 "grids",     "precision"});
  if (!root["name"]) {
    reader.Problem("name", "required");
  } else if (auto name = reader.String(root["name"], "name")) {
    spec->name = *name;
    CheckName(reader, spec->name, "name");
  }
  if (root["description"])
    spec->description = reader.String(root["description"], "description").value_or("");
  if (root["priority"])
    spec->priority = reader.Int(root["priority"], "priority", -1000, 1000).value_or(0);
  if (root["max_attempts"]) {
    spec->max_attempts = reader.Int(root["max_attempts"], "max_attempts", 1, 100).value_or(1);
  }
  if (root["seed"]) spec->seed = reader.Integer(root["seed"], "seed", 0, kMaxInt64).value_or(0);
  if (!root["vocab"]) {
    reader.Problem("vocab", "required");
  } else {
    spec->vocab = reader.Int(root["vocab"], "vocab", 2, models::kMaxVocab).value_or(0);
  }
  if (!root["data"]) {
    reader.Problem("data.path", "required");
  } else if (reader.IsMap(root["data"], "data")) {
    reader.CheckKeys(root["data"], "data", {"path"});
    if (!root["data"]["path"]) {
      reader.Problem("data.path", "required");
    } else if (auto path = reader.String(root["data"]["path"], "data.path")) {
      if (path->empty()) {
        reader.Problem("data.path", "must not be empty");
      } else if (auto resolved = ResolvedPath(reader, "data.path", *path, base_dir)) {
        spec->data_path = *std::move(resolved);
      }
    }
  }
  if (root["grad_accum"])
    spec->grad_accum = reader.Int(root["grad_accum"], "grad_accum", 1, 4096).value_or(0);
  if (!root["checkpoint"]) {
    reader.Problem("checkpoint.every_tokens", "required");
  } else if (reader.IsMap(root["checkpoint"], "checkpoint")) {
    reader.CheckKeys(root["checkpoint"], "checkpoint", {"every_tokens", "keep_last"});
    if (root["checkpoint"]["keep_last"]) {
      spec->checkpoint_keep_last =
          reader.Int(root["checkpoint"]["keep_last"], "checkpoint.keep_last", 0, kMaxInt)
              .value_or(0);
    }
    if (!root["checkpoint"]["every_tokens"]) {
      reader.Problem("checkpoint.every_tokens", "required");
    } else {
      spec->checkpoint_every_tokens =
          reader
              .Integer(root["checkpoint"]["every_tokens"], "checkpoint.every_tokens", 1, kMaxTokens)
              .value_or(0);
    }
  }
  if (root["log_every_steps"]) {
    spec->log_every_steps =
        reader.Int(root["log_every_steps"], "log_every_steps", 1, kMaxInt).value_or(1);
  }
  if (root["optimizer"]) ParseOptimizer(reader, root["optimizer"], &spec->optimizer);
  if (root["evaluation"]) ParseEvaluation(reader, root["evaluation"], base_dir, spec);
  if (root["resources"]) ParseResources(reader, root["resources"], &spec->resources);
  if (root["precision"]) ParsePrecision(reader, root["precision"], spec);
}

}  // namespace

SweepSpec ParseSweepSpec(std::string_view yaml_text, std::string_view base_dir,
                         SpecProblems* problems) {
  SweepSpec spec;
  absl::StatusOr<YAML::Node> document = ParseYamlDocument(yaml_text);
  if (!document.ok()) {
    problems->Add("spec", Cat("not valid YAML: ", document.status().message()));
    return spec;
  }
  const YAML::Node& root = *document;
  if (!root.IsMap()) {
    problems->Add("spec", "must be a YAML mapping");
    return spec;
  }
  Reader reader(problems);
  try {
    ParseTopLevel(reader, root, base_dir, &spec);
    GridSpec defaults;
    ParseGridFields(reader, root, "", &defaults);
    if (!root["grids"]) {
      CheckGrid(reader, defaults, root, spec.grad_accum, spec.resources.replicas);
      spec.grids.push_back(std::move(defaults));
    } else if (reader.NonEmptySequence(root["grids"], "grids")) {
      const YAML::Node grids = root["grids"];
      std::set<std::string> names;
      for (size_t i = 0; i < grids.size(); ++i) {
        GridSpec grid = defaults;
        grid.path = Index("grids", i);
        grid.name = Cat("grid", i);
        const YAML::Node node = grids[i];
        if (!reader.IsMap(node, grid.path)) continue;
        reader.CheckKeys(node, grid.path,
                         {"name", "architectures", "sizes", "contexts", "tokens",
                          "tokens_per_param", "batch_tokens", "model"});
        if (node["name"]) {
          grid.name = reader.String(node["name"], Child(grid.path, "name")).value_or("");
          CheckName(reader, grid.name, Child(grid.path, "name"));
        }
        if (!names.insert(grid.name).second) {
          reader.Problem(Child(grid.path, "name"), Cat("duplicate grid name '", grid.name, "'"));
        }
        // Inherited sizes keep the top-level paths, so errors point at the line to fix.
        ParseGridFields(reader, node, grid.path, &grid);
        YAML::Node merged = YAML::Clone(node);
        for (const char* key :
             {"architectures", "sizes", "contexts", "tokens", "tokens_per_param", "batch_tokens"}) {
          if (!node[key] && root[key]) merged[key] = root[key];
        }
        CheckGrid(reader, grid, merged, spec.grad_accum, spec.resources.replicas);
        spec.grids.push_back(std::move(grid));
      }
    }
  } catch (const YAML::Exception& e) {
    problems->Add("spec", Cat("unexpected YAML structure: ", e.msg));
  }
  return spec;
}

absl::StatusOr<SweepSpec> ParseSweepSpec(std::string_view yaml_text, std::string_view base_dir) {
  SpecProblems problems;
  SweepSpec spec = ParseSweepSpec(yaml_text, base_dir, &problems);
  RETURN_IF_ERROR(problems.ToStatus());
  return spec;
}

}  // namespace flopwise::server
