// MakeNcclCommunicator over NCCL (built where CMake found CUDA and NCCL).
// The communicator runs in NCCL's non-blocking mode (ncclConfig_t::blocking
// = 0): every NCCL call returns at once, and this file polls the
// communicator's state (ncclCommGetAsyncError) and its stream against the
// timeout, aborting the communicator (ncclCommAbort) when the timeout passes
// or NCCL reports an error, so that no call waits forever for a dead peer.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "comm/nccl_communicator.h"
#include "comm/rendezvous_check.h"

namespace flopwise::comm {
namespace {

// The store key of rank 0's ncclUniqueId, hex-encoded.
constexpr char kUniqueIdKey[] = "nccl/unique_id";
// How often a waiting rank looks at NCCL's state and the stream.
constexpr absl::Duration kPollInterval = absl::Microseconds(50);

absl::Status CudaError(const std::string& what, const char* call, cudaError_t error) {
  return absl::InternalError(absl::StrCat(what, ": ", call, " failed: ", cudaGetErrorName(error),
                                          " (", cudaGetErrorString(error), ")"));
}

// The Status of NCCL's `result` from `call` during `what`, with NCCL's own
// description of its last error.
absl::Status NcclError(const std::string& what, const char* call, ncclResult_t result,
                       ncclComm_t comm) {
  std::string message = absl::StrCat(what, ": ", call, " failed: ", ncclGetErrorString(result));
  if (const char* last = ncclGetLastError(comm); last != nullptr && *last != '\0') {
    absl::StrAppend(&message, " (", last, ")");
  }
  switch (result) {
    case ncclRemoteError:
    case ncclSystemError:
      return absl::UnavailableError(
          absl::StrCat(message, "; a peer rank is gone, its link broke or a system call failed"));
    case ncclInvalidArgument:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

// Makes `device` the calling thread's current CUDA device for its lifetime
// and restores the previous one afterwards.
class ScopedDevice {
 public:
  explicit ScopedDevice(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    error_ = cudaSetDevice(device);
  }
  ~ScopedDevice() {
    if (previous_ >= 0) (void)cudaSetDevice(previous_);
  }
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;

  cudaError_t error() const { return error_; }

 private:
  int previous_ = -1;
  cudaError_t error_ = cudaSuccess;
};

// Checks that a CUDA device exists before NCCL is touched: FailedPrecondition
// when none is visible, InvalidArgument for an index outside the visible ones.
absl::Status CheckDevice(int rank, int device) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess || count == 0) {
    (void)cudaGetLastError();  // clears the error, so later CUDA calls do not see it
    return absl::FailedPreconditionError(absl::StrCat(
        "NCCL communicator (rank ", rank, "): no CUDA device visible (cudaGetDeviceCount: ",
        error == cudaSuccess ? "0 devices" : cudaGetErrorString(error),
        "); a GPU rank needs a device of its own"));
  }
  if (device < 0 || device >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("device: ", device, " is not in [0, ", count, ") (the CUDA devices visible)"));
  }
  return absl::OkStatus();
}

// Rank 0 creates NCCL's unique id and publishes it; every other rank reads it.
absl::StatusOr<ncclUniqueId> ExchangeUniqueId(KeyValueStore& store, int rank, int world_size,
                                              absl::Duration timeout) {
  const std::string what = absl::StrCat("rendezvous (rank ", rank, " of ", world_size, ")");
  ncclUniqueId id;
  if (rank == 0) {
    if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
      return NcclError(what, "ncclGetUniqueId", r, nullptr);
    }
    const std::string hex = absl::BytesToHexString(absl::string_view(id.internal, sizeof(id)));
    if (absl::Status s = store.Set(kUniqueIdKey, hex); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
    }
    return id;
  }
  absl::StatusOr<std::string> hex = store.Get(kUniqueIdKey, timeout);
  if (absl::IsDeadlineExceeded(hex.status())) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": rank 0 did not publish NCCL's unique id within ",
                     absl::FormatDuration(timeout), " (", hex.status().message(), ")"));
  }
  if (!hex.ok()) return hex.status();
  bool valid = hex->size() == 2 * sizeof(id);
  for (const char c : *hex) valid = valid && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", kUniqueIdKey, " holds ", hex->size(),
                                                   " characters, not the ", 2 * sizeof(id),
                                                   " hex digits of an id"));
  }
  const std::string bytes = absl::HexStringToBytes(*hex);
  std::copy(bytes.begin(), bytes.end(), id.internal);
  return id;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(int rank, int world_size, int device, absl::Duration timeout)
      : rank_(rank), world_size_(world_size), device_(device), timeout_(timeout) {}

  ~NcclCommunicator() override {
    ScopedDevice scoped(device_);
    if (comm_ != nullptr) {
      // Every collective has finished, so finalizing only flushes NCCL's own
      // state; a peer that vanished meanwhile cannot hold it past the timeout.
      const absl::Time deadline = absl::Now() + timeout_;
      const ncclResult_t r = ncclCommFinalize(comm_);
      if ((r == ncclSuccess || r == ncclInProgress) && WaitForComm("finalize", deadline).ok()) {
        (void)ncclCommDestroy(comm_);
      } else {
        (void)ncclCommAbort(comm_);
      }
    }
    if (scratch_ != nullptr) (void)cudaFree(scratch_);
    if (staging_ != nullptr) (void)cudaFree(staging_);
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  }

  // Creates the stream and the scratch buffer and joins NCCL's communicator.
  absl::Status Connect(const ncclUniqueId& id) {
    const std::string what = Where("connect");
    ScopedDevice scoped(device_);
    if (scoped.error() != cudaSuccess) return CudaError(what, "cudaSetDevice", scoped.error());
    if (cudaError_t e = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
        e != cudaSuccess) {
      return CudaError(what, "cudaStreamCreateWithFlags", e);
    }
    if (cudaError_t e = cudaMalloc(&scratch_, sizeof(uint64_t) * static_cast<size_t>(world_size_));
        e != cudaSuccess) {
      return CudaError(what, "cudaMalloc", e);
    }
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    const absl::Time deadline = absl::Now() + timeout_;
    const ncclResult_t r = ncclCommInitRankConfig(&comm_, world_size_, id, rank_, &config);
    absl::Status s;
    if (r != ncclSuccess && r != ncclInProgress) {
      s = NcclError(what, "ncclCommInitRankConfig", r, comm_);
    } else {
      s = WaitForComm(what, deadline);
    }
    if (!s.ok()) Break(s);
    return s;
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  absl::Status AllReduceSum(float* data, int64_t count) override {
    return AllReduce(data, count, ncclFloat32);
  }
  absl::Status AllReduceSum(double* data, int64_t count) override {
    return AllReduce(data, count, ncclFloat64);
  }

  absl::Status BroadcastBytes(void* data, int64_t bytes, int root) override {
    if (root < 0 || root >= world_size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("broadcast: root ", root, " is not a rank of ", world_size_));
    }
    return OnDevice("broadcast", data, bytes, [&](void* on_device) {
      return Run("broadcast", "ncclBroadcast", [&] {
        return ncclBroadcast(on_device, on_device, static_cast<size_t>(bytes), ncclUint8, root,
                             comm_, stream_);
      });
    });
  }

  absl::Status Barrier() override {
    return Run("barrier", "ncclAllReduce", [&] {
      return ncclAllReduce(scratch_, scratch_, 1, ncclUint64, ncclSum, comm_, stream_);
    });
  }

  absl::StatusOr<std::vector<uint64_t>> AllGather(uint64_t value) override {
    if (!broken_.ok()) return broken_;
    // In place: this rank's slot of the scratch buffer is its input.
    if (absl::Status s =
            Copy("all-gather", scratch_ + rank_, &value, sizeof(value), cudaMemcpyHostToDevice);
        !s.ok()) {
      return s;
    }
    absl::Status s = Run("all-gather", "ncclAllGather", [&] {
      return ncclAllGather(scratch_ + rank_, scratch_, 1, ncclUint64, comm_, stream_);
    });
    if (!s.ok()) return s;
    std::vector<uint64_t> values(static_cast<size_t>(world_size_));
    if (s = Copy("all-gather", values.data(), scratch_, sizeof(uint64_t) * values.size(),
                 cudaMemcpyDeviceToHost);
        !s.ok()) {
      return s;
    }
    return values;
  }

 private:
  std::string Where(const char* what) const {
    return absl::StrCat(what, " (rank ", rank_, " of ", world_size_, ", NCCL on device ", device_,
                        ")");
  }

  template <typename T>
  absl::Status AllReduce(T* data, int64_t count, ncclDataType_t type) {
    return OnDevice("all-reduce", data, count * int64_t{sizeof(T)}, [&](void* on_device) {
      return Run("all-reduce", "ncclAllReduce", [&] {
        return ncclAllReduce(on_device, on_device, static_cast<size_t>(count), type, ncclSum, comm_,
                             stream_);
      });
    });
  }

  // Runs `collective` on data[0, bytes) where NCCL can reach it: device
  // memory of this rank's device as it is; host memory (the trainer's loss
  // and stop flag, its packed state) through the staging buffer, copied in
  // before and out after. Other devices' memory is InvalidArgument.
  template <typename Collective>
  absl::Status OnDevice(const char* what, void* data, int64_t bytes, Collective&& collective) {
    auto on_host = IsHostMemory(what, data, bytes);
    if (!on_host.ok()) return on_host.status();
    if (!*on_host) return collective(data);
    if (absl::Status s = GrowStaging(what, static_cast<size_t>(bytes)); !s.ok()) return s;
    const size_t size = static_cast<size_t>(bytes);
    if (absl::Status s = Copy(what, staging_, data, size, cudaMemcpyHostToDevice); !s.ok()) {
      return s;
    }
    if (absl::Status s = collective(staging_); !s.ok()) return s;
    return Copy(what, data, staging_, size, cudaMemcpyDeviceToHost);
  }

  // Whether data[0, bytes) is host memory (false: memory NCCL can use as it
  // is); InvalidArgument for a negative size or another device's memory. An
  // empty range needs no memory at all.
  absl::StatusOr<bool> IsHostMemory(const char* what, const void* data, int64_t bytes) const {
    if (bytes < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": size must be ≥ 0, got ", bytes, " bytes"));
    }
    if (bytes == 0) return false;
    cudaPointerAttributes attributes;
    if (cudaPointerGetAttributes(&attributes, data) != cudaSuccess) {
      (void)cudaGetLastError();
      attributes.type = cudaMemoryTypeUnregistered;
    }
    if (attributes.type == cudaMemoryTypeManaged) return false;
    if (attributes.type != cudaMemoryTypeDevice) return true;
    if (attributes.device != device_) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": data is on CUDA device ",
                                                     attributes.device,
                                                     ", this rank's NCCL "
                                                     "communicator on device ",
                                                     device_));
    }
    return false;
  }

  // The staging buffer holds at least `bytes` (grown, never shrunk).
  absl::Status GrowStaging(const char* what, size_t bytes) {
    if (bytes <= staging_bytes_) return absl::OkStatus();
    ScopedDevice scoped(device_);
    if (scoped.error() != cudaSuccess) {
      return CudaError(Where(what), "cudaSetDevice", scoped.error());
    }
    if (staging_ != nullptr) (void)cudaFree(staging_);
    staging_ = nullptr;
    staging_bytes_ = 0;
    if (cudaError_t e = cudaMalloc(&staging_, bytes); e != cudaSuccess) {
      return CudaError(Where(what), "cudaMalloc", e);
    }
    staging_bytes_ = bytes;
    return absl::OkStatus();
  }

  // A synchronous copy between the host and the scratch or staging buffer, run only
  // while no collective is in flight (so it cannot wait for a peer).
  absl::Status Copy(const char* what, void* to, const void* from, size_t bytes,
                    cudaMemcpyKind kind) {
    ScopedDevice scoped(device_);
    cudaError_t e = scoped.error();
    const char* call = "cudaSetDevice";
    if (e == cudaSuccess) {
      e = cudaMemcpy(to, from, bytes, kind);
      call = "cudaMemcpy";
    }
    if (e == cudaSuccess) return absl::OkStatus();
    absl::Status s = CudaError(Where(what), call, e);
    Break(s);
    return s;
  }

  // Enqueues one collective on the stream (`enqueue` returns NCCL's result)
  // and waits until it has finished. After a failure every later collective
  // fails the same way (the communicator was aborted).
  template <typename Enqueue>
  absl::Status Run(const char* what, const char* call, Enqueue&& enqueue) {
    if (!broken_.ok()) return broken_;
    const std::string where = Where(what);
    ScopedDevice scoped(device_);
    absl::Status s;
    if (scoped.error() != cudaSuccess) {
      s = CudaError(where, "cudaSetDevice", scoped.error());
    } else {
      const absl::Time deadline = absl::Now() + timeout_;
      const ncclResult_t r = enqueue();
      if (r != ncclSuccess && r != ncclInProgress) {
        s = NcclError(where, call, r, comm_);
      } else {
        s = WaitForStream(where, deadline);
      }
    }
    if (!s.ok()) Break(s);
    return s;
  }

  // Polls until NCCL's state leaves ncclInProgress (a non-blocking call
  // finished): its error if it failed, DeadlineExceeded after `deadline`.
  absl::Status WaitForComm(const std::string& what, absl::Time deadline) {
    for (;;) {
      ncclResult_t state = ncclSuccess;
      if (ncclResult_t r = ncclCommGetAsyncError(comm_, &state); r != ncclSuccess) {
        return NcclError(what, "ncclCommGetAsyncError", r, comm_);
      }
      if (state == ncclSuccess) return absl::OkStatus();
      if (state != ncclInProgress) return NcclError(what, "NCCL", state, comm_);
      if (absl::Now() > deadline) return TimedOut(what);
      absl::SleepFor(kPollInterval);
    }
  }

  // Polls until the stream is idle and NCCL's state is ncclSuccess: the
  // collective enqueued on it has finished on this rank.
  absl::Status WaitForStream(const std::string& what, absl::Time deadline) {
    for (;;) {
      ncclResult_t state = ncclSuccess;
      if (ncclResult_t r = ncclCommGetAsyncError(comm_, &state); r != ncclSuccess) {
        return NcclError(what, "ncclCommGetAsyncError", r, comm_);
      }
      if (state != ncclSuccess && state != ncclInProgress) {
        return NcclError(what, "NCCL", state, comm_);
      }
      if (state == ncclSuccess) {
        const cudaError_t e = cudaStreamQuery(stream_);
        if (e == cudaSuccess) return absl::OkStatus();
        if (e != cudaErrorNotReady) return CudaError(what, "cudaStreamQuery", e);
      }
      if (absl::Now() > deadline) return TimedOut(what);
      absl::SleepFor(kPollInterval);
    }
  }

  absl::Status TimedOut(const std::string& what) const {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": no answer from a peer rank within ", absl::FormatDuration(timeout_),
                     " (a rank stopped or hangs; the NCCL communicator was aborted)"));
  }

  // Aborts the NCCL communicator (ending whatever still runs on the device)
  // and remembers why, for every later call.
  void Break(const absl::Status& why) {
    broken_ = why;
    if (comm_ != nullptr) {
      (void)ncclCommAbort(comm_);
      comm_ = nullptr;
    }
  }

  const int rank_;
  const int world_size_;
  const int device_;
  const absl::Duration timeout_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  uint64_t* scratch_ = nullptr;  // world_size_ values: all-gather and barrier
  void* staging_ = nullptr;      // host data's copy on the device (OnDevice)
  size_t staging_bytes_ = 0;
  absl::Status broken_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(KeyValueStore& store, int rank,
                                                                   int world_size, int device,
                                                                   const NcclOptions& options) {
  if (absl::Status s = CheckRankArguments(rank, world_size, options.timeout); !s.ok()) return s;
  if (absl::Status s = CheckDevice(rank, device); !s.ok()) return s;
  if (absl::Status s = CheckPeersMatch(store, rank, world_size, options.config, options.timeout);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<ncclUniqueId> id = ExchangeUniqueId(store, rank, world_size, options.timeout);
  if (!id.ok()) return id.status();
  auto communicator = std::make_unique<NcclCommunicator>(rank, world_size, device, options.timeout);
  if (absl::Status s = communicator->Connect(*id); !s.ok()) return s;
  return std::unique_ptr<Communicator>(std::move(communicator));
}

}  // namespace flopwise::comm
