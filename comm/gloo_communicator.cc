// MakeGlooCommunicator: the Communicator over Gloo's TCP transport. Gloo
// reports failures as exceptions; every call into it is wrapped here and
// turned into an absl::Status, so none crosses the module's boundary.
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "comm/communicator.h"
#include "comm/gloo_store.h"
#include "comm/rendezvous_check.h"
#include "gloo/allgather.h"
#include "gloo/allreduce.h"
#include "gloo/barrier.h"
#include "gloo/broadcast.h"
#include "gloo/common/error.h"
#include "gloo/math.h"
#include "gloo/rendezvous/context.h"
#include "gloo/transport/tcp/device.h"

namespace flopwise::comm {
namespace {

// The Status of a Gloo failure during `what`: DeadlineExceeded when a peer
// did not answer in time, Unavailable when a connection broke.
absl::Status GlooError(const std::string& what, const std::string& message,
                       absl::Duration timeout) {
  if (absl::StrContains(message, "Timed out")) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": no answer from a peer rank within ", absl::FormatDuration(timeout),
                     " (a rank stopped or hangs; gloo: ", message, ")"));
  }
  return absl::UnavailableError(absl::StrCat(
      what, ": a peer rank is gone (it exited or its link broke; gloo: ", message, ")"));
}

// Runs `call`, turning whatever Gloo throws into a Status.
template <typename Call>
absl::Status Guarded(const std::string& what, absl::Duration timeout, Call&& call) {
  try {
    call();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return GlooError(what, e.what(), timeout);
  }
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(std::shared_ptr<gloo::Context> context, absl::Duration timeout)
      : context_(std::move(context)), timeout_(timeout) {}

  int rank() const override { return context_->rank; }
  int world_size() const override { return context_->size; }

  absl::Status AllReduceSum(float* data, int64_t count) override {
    return AllReduce(data, count, "all-reduce");
  }
  absl::Status AllReduceSum(double* data, int64_t count) override {
    return AllReduce(data, count, "all-reduce");
  }

  absl::Status BroadcastBytes(void* data, int64_t bytes, int root) override {
    if (root < 0 || root >= world_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("broadcast: root ", root, " is not a rank of ", world_size()));
    }
    return Run("broadcast", [&] {
      gloo::BroadcastOptions options(context_);
      options.setOutput(static_cast<char*>(data), static_cast<size_t>(bytes));
      options.setRoot(root);
      options.setTag(NextTag());
      gloo::broadcast(options);
    });
  }

  absl::Status Barrier() override {
    return Run("barrier", [&] {
      gloo::BarrierOptions options(context_);
      options.setTag(NextTag());
      gloo::barrier(options);
    });
  }

  absl::StatusOr<std::vector<uint64_t>> AllGather(uint64_t value) override {
    std::vector<uint64_t> values(static_cast<size_t>(world_size()));
    absl::Status s = Run("all-gather", [&] {
      gloo::AllgatherOptions options(context_);
      options.setInput(&value, 1);
      options.setOutput(values.data(), values.size());
      options.setTag(NextTag());
      gloo::allgather(options);
    });
    if (!s.ok()) return s;
    return values;
  }

 private:
  template <typename T>
  absl::Status AllReduce(T* data, int64_t count, const std::string& what) {
    return Run(what, [&] {
      gloo::AllreduceOptions options(context_);
      options.setOutput(data, static_cast<size_t>(count));
      options.setReduceFunction(
          static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<T>));
      options.setTag(NextTag());
      gloo::allreduce(options);
    });
  }

  // Runs one collective; after a failure every later one fails the same way
  // (the transport's state is unknown).
  template <typename Call>
  absl::Status Run(const std::string& what, Call&& call) {
    if (!broken_.ok()) return broken_;
    absl::Status s = Guarded(absl::StrCat(what, " (rank ", rank(), " of ", world_size(), ")"),
                             timeout_, std::forward<Call>(call));
    if (!s.ok()) broken_ = s;
    return s;
  }

  // Every rank calls the same collectives in the same order, so the same
  // sequence of tags matches them up.
  uint32_t NextTag() { return next_tag_++; }

  std::shared_ptr<gloo::Context> context_;
  const absl::Duration timeout_;
  uint32_t next_tag_ = 0;
  absl::Status broken_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> MakeGlooCommunicator(KeyValueStore& store, int rank,
                                                                   int world_size,
                                                                   const GlooOptions& options) {
  if (absl::Status s = CheckRankArguments(rank, world_size, options.timeout); !s.ok()) return s;
  if (absl::Status s = CheckPeersMatch(store, rank, world_size, options.config, options.timeout);
      !s.ok()) {
    return s;
  }
  GlooStore gloo_store(store, "gloo/", options.timeout);
  std::shared_ptr<gloo::rendezvous::Context> context;
  const absl::Status connected = Guarded(
      absl::StrCat("rendezvous (rank ", rank, " of ", world_size, ")"), options.timeout, [&] {
        gloo::transport::tcp::attr attr;
        if (options.interface.empty()) {
          attr.hostname = options.host;
        } else {
          attr.iface = options.interface;
        }
        std::shared_ptr<gloo::transport::Device> device = gloo::transport::tcp::CreateDevice(attr);
        context = std::make_shared<gloo::rendezvous::Context>(rank, world_size);
        context->setTimeout(absl::ToChronoMilliseconds(options.timeout));
        context->connectFullMesh(gloo_store, device);
      });
  if (!gloo_store.error().ok()) {
    const absl::Status& s = gloo_store.error();
    return absl::Status(
        s.code(), absl::StrCat("rendezvous (rank ", rank, " of ", world_size, "): ", s.message()));
  }
  if (!connected.ok()) return connected;
  return std::unique_ptr<Communicator>(new GlooCommunicator(std::move(context), options.timeout));
}

}  // namespace flopwise::comm
