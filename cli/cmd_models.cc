// `flopwise models`: the model presets with their exact parameter counts and
// the paper's training FLOPs per token (docs/models.md).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command_registry.h"
#include "client/exit_codes.h"
#include "models/accounting.h"
#include "models/presets.h"

namespace flopwise::cli {
namespace {

struct ModelsFlags {
  bool paper = false;
  bool json = false;
  int context = 0;   // 0: the family's default
  std::string arch;  // empty: all four
};

int ListModels(const ModelsFlags& flags) {
  std::vector<models::Arch> archs;
  if (flags.arch.empty()) {
    archs = {models::Arch::kLlama, models::Arch::kTnl, models::Arch::kHgrn2, models::Arch::kCos2};
  } else {
    auto arch = models::ParseArch(flags.arch);
    if (!arch.ok()) {
      std::fprintf(stderr, "flopwise models: %s\n", std::string(arch.status().message()).c_str());
      return client::kExitUsage;
    }
    archs = {*arch};
  }
  if (flags.context < 0) {
    std::fprintf(stderr, "flopwise models: context: must be positive (got %d)\n", flags.context);
    return client::kExitUsage;
  }
  nlohmann::json rows = nlohmann::json::array();
  if (!flags.json) {
    std::printf("%-6s %-5s %6s %7s %5s %7s %7s %7s %12s %12s %12s %12s\n", "arch", "name", "layers",
                "d_model", "heads", "ffn_dim", "vocab", "context", "params_ne", "params_emb",
                "flops/tok", "flops/tok_emb");
  }
  for (models::Arch arch : archs) {
    for (models::Preset& p :
         flags.paper ? models::PaperPresets(arch) : models::CpuLadderPresets(arch)) {
      models::ModelConfig& c = p.config;
      if (flags.context > 0) c.context = flags.context;
      const std::string arch_name(models::ArchName(arch));
      if (flags.json) {
        rows.push_back(
            {{"arch", arch_name},
             {"name", p.name},
             {"layers", c.layers},
             {"d_model", c.d_model},
             {"heads", c.heads},
             {"ffn_dim", c.ffn_dim},
             {"vocab", c.vocab},
             {"context", c.context},
             {"params_non_embedding_formula", models::NonEmbeddingParamsFormula(c)},
             {"params_non_embedding_exact", models::NonEmbeddingParamsExact(c)},
             {"params_embedding", models::EmbeddingParams(c)},
             {"train_flops_per_token_formula", models::TrainFlopsPerTokenFormula(c)},
             {"train_flops_per_token_embedding", models::TrainFlopsPerTokenEmbedding(c)}});
        continue;
      }
      std::printf("%-6s %-5s %6d %7d %5d %7d %7d %7d %12lld %12lld %12.4g %12.4g\n",
                  arch_name.c_str(), p.name.c_str(), c.layers, c.d_model, c.heads, c.ffn_dim,
                  c.vocab, c.context, static_cast<long long>(models::NonEmbeddingParamsExact(c)),
                  static_cast<long long>(models::EmbeddingParams(c)),
                  models::TrainFlopsPerTokenFormula(c), models::TrainFlopsPerTokenEmbedding(c));
    }
  }
  if (flags.json) std::printf("%s\n", rows.dump(2).c_str());
  return 0;
}

const CommandRegistrar kModels([](CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand(
      "models", "List model presets: shapes, parameter counts, training FLOPs per token");
  static ModelsFlags flags;
  cmd->add_flag("--paper", flags.paper,
                std::string("The paper's six sizes instead of the CPU ladder"));
  cmd->add_flag("--json", flags.json, std::string("Print a JSON array"));
  cmd->add_option("--context", flags.context,
                  std::string("Context length for the FLOP column (default: 256 for the CPU "
                              "ladder, 8192 for the paper)"));
  cmd->add_option("--arch", flags.arch,
                  std::string("Only this architecture (llama, tnl, hgrn2, cos2)"));
  cmd->callback([&ctx] { ctx.exit_code = ListModels(flags); });
});

}  // namespace
}  // namespace flopwise::cli
