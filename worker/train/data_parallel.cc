#include "worker/train/data_parallel.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "comm/local_endpoint.h"
#include "comm/nccl_communicator.h"
#include "comm/open_key_value_store.h"
#include "worker/train/device.h"
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
  auto cuda_index = ParseDevice(o.device);
  if (!cuda_index.ok()) return cuda_index.status();
  auto store = comm::OpenKeyValueStore(o.rendezvous);
  if (!store.ok()) return store.status();
  if (cuda_index->has_value()) {
    // GPU ranks: the gradients live in device memory, which NCCL reduces in
    // place; the rank flags for Gloo's transport do not apply.
    comm::NcclOptions options;
    options.timeout = absl::Seconds(o.rendezvous_timeout_s);
    options.config = SharedRunSettings(o, config);
    return comm::MakeNcclCommunicator(**store, o.rank, o.world_size, **cuda_index, options);
  }
  comm::GlooOptions options;
  options.host = o.rank_address.empty() ? comm::kDefaultRankAddress : o.rank_address;
  options.interface = o.rank_interface;
  options.timeout = absl::Seconds(o.rendezvous_timeout_s);
  options.config = SharedRunSettings(o, config);
  return comm::MakeGlooCommunicator(**store, o.rank, o.world_size, options);
}

namespace {

constexpr uint64_t kFnvOffset = 0xCBF29CE484222325ULL;

// FNV-1a over the 64-bit words of data[0, count) (the last one zero-padded),
// continuing from `hash`; chunks of an even count chain to the whole's hash.
uint64_t HashWords(uint64_t hash, const float* data, int64_t count) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  const int64_t size = count * int64_t{sizeof(float)};
  for (int64_t i = 0; i < size; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes + i, static_cast<size_t>(std::min<int64_t>(8, size - i)));
    hash = (hash ^ word) * 0x100000001B3ULL;
  }
  return hash;
}

uint64_t FinalMix(uint64_t hash) {
  hash ^= hash >> 33;
  hash *= 0xFF51AFD7ED558CCDULL;
  hash ^= hash >> 33;
  return hash;
}

}  // namespace

uint64_t WeightsChecksum(const float* data, int64_t count) {
  return FinalMix(HashWords(kFnvOffset, data, count));
}

uint64_t WeightsChecksum(kernels::Backend& backend, const float* params, int64_t count) {
  // Through a bounded host buffer: the weights may be device memory.
  constexpr int64_t kChunkFloats = int64_t{1} << 20;  // even, so chunks chain
  std::vector<float> chunk(static_cast<size_t>(std::min(count, kChunkFloats)));
  uint64_t hash = kFnvOffset;
  for (int64_t at = 0; at < count; at += kChunkFloats) {
    const int64_t n = std::min(kChunkFloats, count - at);
    backend.CopyToHost(chunk.data(), params + at, n * int64_t{sizeof(float)});
    hash = HashWords(hash, chunk.data(), n);
  }
  return FinalMix(hash);
}

absl::Status CheckWeightsMatch(comm::Communicator& communicator, kernels::Backend& backend,
                               const float* params, int64_t count, int64_t step) {
  auto checksums = communicator.AllGather(WeightsChecksum(backend, params, count));
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
