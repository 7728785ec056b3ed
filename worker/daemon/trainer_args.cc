#include "worker/daemon/trainer_args.h"

#include <cstdio>

#include "client/format.h"
#include "models/config.h"

namespace flopwise::workerd {
namespace {

namespace v1 = ::flopwise::v1;

std::string Real(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

}  // namespace

std::vector<std::string> TrainerArgv(const std::string& trainer_path, const v1::RunConfig& config,
                                     const std::string& run_dir, int threads) {
  std::vector<std::string> argv = {trainer_path};
  auto add = [&argv](const char* flag, std::string value) {
    argv.emplace_back(flag);
    argv.push_back(std::move(value));
  };
  auto add_if_positive = [&add](const char* flag, int64_t value) {
    if (value > 0) add(flag, std::to_string(value));
  };
  const v1::ModelShape& model = config.model();
  add("--arch", client::ArchName(model.arch()));
  if (!model.preset().empty()) add("--preset", model.preset());
  add_if_positive("--layers", model.layers());
  add_if_positive("--d-model", model.d_model());
  add_if_positive("--heads", model.heads());
  add_if_positive("--ffn-dim", model.ffn_dim());
  add_if_positive("--gate-rank", model.gate_rank());
  add_if_positive("--tpe-dim", model.tpe_dim());
  const models::ModelConfig defaults;  // flopwise-train's model flag defaults
  auto add_unless_default = [&add](const char* flag, const std::string& value,
                                   std::string_view default_value) {
    if (!value.empty() && value != default_value) add(flag, value);
  };
  add_unless_default("--tpe-variant", model.tpe_variant(),
                     models::TpeVariantName(defaults.tpe_variant));
  if (model.scaled_residual_init()) argv.emplace_back("--scaled-residual-init");
  if (model.norm_affine()) argv.emplace_back("--norm-affine");
  add_unless_default("--v-act", model.v_act(), models::VActName(defaults.v_act));
  add_unless_default("--lrpe-variant", model.lrpe_variant(),
                     models::LrpeVariantName(defaults.lrpe_variant));
  add_if_positive("--vocab", model.vocab());
  add_if_positive("--context", model.context());
  if (!config.data_path().empty()) add("--data", config.data_path());
  add_if_positive("--batch-tokens", config.batch_tokens());
  add_if_positive("--grad-accum", config.grad_accum());
  add_if_positive("--total-tokens", config.total_tokens());
  if (config.lr() > 0) add("--lr", Real(config.lr()));
  add("--weight-decay", Real(config.weight_decay()));
  if (config.beta1() > 0) add("--beta1", Real(config.beta1()));
  if (config.beta2() > 0) add("--beta2", Real(config.beta2()));
  if (config.schedule() == v1::LR_SCHEDULE_COSINE) {
    add("--schedule", "cosine");
  } else {
    add("--schedule", "constant");
  }
  if (config.schedule() == v1::LR_SCHEDULE_COSINE && config.min_lr() > 0 && config.lr() > 0) {
    add("--min-lr-ratio", Real(config.min_lr() / config.lr()));
  }
  add_if_positive("--warmup-tokens", config.warmup_tokens());
  add("--seed", std::to_string(config.seed()));
  add_if_positive("--checkpoint-every-tokens", config.checkpoint_every_tokens());
  add_if_positive("--keep-checkpoints", config.checkpoint_keep_last());
  add_if_positive("--log-every-steps", config.log_every_steps());
  add("--out", run_dir);
  add_if_positive("--threads", threads);
  return argv;
}

}  // namespace flopwise::workerd
