// Collectives among the ranks of a data-parallel run (docs/distributed.md):
// the gradient all-reduce, the broadcast of rank 0's weights, barriers and
// the all-gather of weight checksums. One interface, several transports:
// Gloo over TCP for CPU ranks (MakeGlooCommunicator), a no-op for a run of
// one process (MakeSingleProcessCommunicator), NCCL for GPU ranks
// (MakeNcclCommunicator in nccl_communicator.h, on device memory).
//
// Every rank must call the same collectives in the same order with the same
// sizes. A collective that cannot finish (a peer died, a link is cut, a peer
// is stuck) returns an error on every surviving rank within the timeout; the
// communicator is unusable afterwards.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "comm/key_value_store.h"

namespace flopwise::comm {

// Not thread-safe: one thread drives a Communicator at a time.
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // Replaces data[0, count) on every rank with its element-wise sum over all
  // ranks; every rank gets the same bits.
  virtual absl::Status AllReduceSum(float* data, int64_t count) = 0;
  virtual absl::Status AllReduceSum(double* data, int64_t count) = 0;
  // Copies rank `root`'s data[0, bytes) into every other rank's.
  virtual absl::Status BroadcastBytes(void* data, int64_t bytes, int root) = 0;
  absl::Status Broadcast(float* data, int64_t count, int root) {
    return BroadcastBytes(data, count * int64_t{sizeof(float)}, root);
  }
  // Returns once every rank has called it.
  virtual absl::Status Barrier() = 0;
  // Every rank's `value`, indexed by rank (checksums, small flags).
  virtual absl::StatusOr<std::vector<uint64_t>> AllGather(uint64_t value) = 0;
};

// AllReduceSum of data[0, count) in buckets of at most `bucket_floats` each,
// so no collective holds the whole array. (The trainer's gradient all-reduce
// is BucketedAllReduce, bucketed_all_reduce.h, with buckets of at most
// kGradientBucketFloats.)
inline constexpr int64_t kGradientBucketFloats = int64_t{1} << 20;  // 4 MiB
absl::Status AllReduceSumInBuckets(Communicator& communicator, float* data, int64_t count,
                                   int64_t bucket_floats = kGradientBucketFloats);

struct GlooOptions {
  // The address the TCP transport binds and publishes to the peers.
  std::string host = "127.0.0.1";
  // A network interface (e.g. "eth0") to bind instead of `host`; "" uses host.
  std::string interface;
  // The longest wait for a peer: each rendezvous step and each collective.
  absl::Duration timeout = absl::Minutes(5);
  // What must be the same on every rank, as (name, value) pairs in a fixed
  // order (e.g. ("--batch-tokens", "128")). Every rank publishes its pairs and
  // world size at rendezvous; a difference is an error on every rank.
  std::vector<std::pair<std::string, std::string>> config;
};

// Meets the other `world_size` - 1 ranks through `store` (used only during
// this call) and connects Gloo's TCP transport to each of them. Returns
// InvalidArgument for a rank outside [0, world_size), DeadlineExceeded naming
// the rank that did not come within options.timeout, FailedPrecondition
// naming the rank and what differs (world size or config entries) when a
// peer's differs from this rank's, Unavailable when the transport cannot
// connect.
absl::StatusOr<std::unique_ptr<Communicator>> MakeGlooCommunicator(KeyValueStore& store, int rank,
                                                                   int world_size,
                                                                   const GlooOptions& options);

// A run of one process: rank 0 of 1; every collective returns at once and
// leaves the data as it is.
std::unique_ptr<Communicator> MakeSingleProcessCommunicator();

}  // namespace flopwise::comm
