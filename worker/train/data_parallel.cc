#include "worker/train/data_parallel.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "comm/local_endpoint.h"
#include "comm/open_key_value_store.h"
#include "worker/train/model_io.h"

namespace flopwise::train {

std::vector<std::pair<std::string, std::string>> SharedRunSettings(const TrainOptions& o,
                                                                   const models::ModelConfig& c) {
  auto exact = [](double value) { return absl::StrFormat("%.17g", value); };
  const Metadata model = ModelMetadata(c);
  return {
      {"--arch", model.at("arch")},
      {"model", model.at("config")},
      {"--context", absl::StrCat(c.context)},
      {"--data", o.data},
      {"--batch-tokens", absl::StrCat(o.batch_tokens)},
      {"--grad-accum", absl::StrCat(o.grad_accum)},
      {"--total-tokens", absl::StrCat(o.total_tokens)},
      {"--lr", exact(o.lr)},
      {"--weight-decay", exact(o.weight_decay)},
      {"--beta1", exact(o.beta1)},
      {"--beta2", exact(o.beta2)},
      {"--grad-clip", exact(o.grad_clip)},
      {"--schedule", o.schedule},
      {"--warmup-tokens", absl::StrCat(o.warmup_tokens)},
      {"--min-lr-ratio", exact(o.min_lr_ratio)},
      {"--seed", absl::StrCat(o.seed)},
      {"--checkpoint-every-tokens", absl::StrCat(o.checkpoint_every_tokens)},
  };
}

absl::StatusOr<std::unique_ptr<comm::Communicator>> OpenCommunicator(
    const TrainOptions& o, const models::ModelConfig& config) {
  if (o.world_size == 1) return comm::MakeSingleProcessCommunicator();
  auto store = comm::OpenKeyValueStore(o.rendezvous);
  if (!store.ok()) return store.status();
  comm::GlooOptions options;
  options.host = o.rank_address.empty() ? comm::kDefaultRankAddress : o.rank_address;
  options.interface = o.rank_interface;
  options.timeout = absl::Seconds(o.rendezvous_timeout_s);
  options.config = SharedRunSettings(o, config);
  return comm::MakeGlooCommunicator(**store, o.rank, o.world_size, options);
}

uint64_t WeightsChecksum(const float* data, int64_t count) {
  // FNV-1a over 64-bit words (the last one zero-padded), then a final mix.
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  const int64_t size = count * int64_t{sizeof(float)};
  uint64_t hash = 0xCBF29CE484222325ULL;
  for (int64_t i = 0; i < size; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes + i, static_cast<size_t>(std::min<int64_t>(8, size - i)));
    hash = (hash ^ word) * 0x100000001B3ULL;
  }
  hash ^= hash >> 33;
  hash *= 0xFF51AFD7ED558CCDULL;
  hash ^= hash >> 33;
  return hash;
}

absl::Status CheckWeightsMatch(comm::Communicator& communicator, const float* params, int64_t count,
                               int64_t step) {
  auto checksums = communicator.AllGather(WeightsChecksum(params, count));
  if (!checksums.ok()) return checksums.status();
  std::vector<std::string> differ;
  for (size_t r = 1; r < checksums->size(); ++r) {
    if ((*checksums)[r] != (*checksums)[0]) {
      differ.push_back(absl::StrFormat("rank %d has %016x", r, (*checksums)[r]));
    }
  }
  if (differ.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrFormat(
      "weights differ between ranks after step %d: rank 0 has checksum %016x, %s; the run stops "
      "(resume it from the last checkpoint)",
      step, (*checksums)[0], absl::StrJoin(differ, ", ")));
}

}  // namespace flopwise::train
