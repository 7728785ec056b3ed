// The Communicator over NCCL, for data-parallel ranks on GPUs
// (docs/distributed.md, "GPU ranks (NCCL)"). Its collectives run on DEVICE
// memory of the CUDA device this rank was made for, used in place; host
// memory is accepted too and staged through a device buffer of the
// communicator's (a copy each way: meant for a trainer's scalars and small
// records, not for gradients). AllGather's values and Barrier stay on the
// host side of the interface.
//
// Built from nccl_communicator.cc where CUDA and NCCL were found at configure
// time (FLOPWISE_HAVE_NCCL); elsewhere MakeNcclCommunicator returns
// Unimplemented ("built without CUDA/NCCL").
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "comm/communicator.h"
#include "comm/key_value_store.h"

namespace flopwise::comm {

struct NcclOptions {
  // The longest wait for a peer: each rendezvous step, NCCL's connection and
  // each collective. A collective still running when it passes is aborted
  // (ncclCommAbort) and returns DeadlineExceeded; the communicator is
  // unusable afterwards.
  absl::Duration timeout = absl::Minutes(5);
  // What must be the same on every rank, as for GlooOptions::config: checked
  // at rendezvous, a difference is an error on every rank.
  std::vector<std::pair<std::string, std::string>> config;
};

// Meets the other `world_size` - 1 ranks through `store` (the same store and
// agreement check as MakeGlooCommunicator: world size and config), then rank
// 0 creates NCCL's unique id and publishes it under "nccl/unique_id", the
// others read it, and every rank joins the NCCL communicator on CUDA device
// `device` (a process may hold one rank per device).
//
// Each collective runs on a CUDA stream of the communicator's own and has
// finished when the call returns; the caller makes sure its data is ready
// before the call (the stream that wrote it synchronised). The calling
// thread's current CUDA device is left as it was.
//
// Errors: InvalidArgument for a bad rank, world size, timeout or device
// index, and for a collective given another device's memory; FailedPrecondition when no
// CUDA device is visible (checked before NCCL is touched) or a peer's world
// size or config differs; DeadlineExceeded naming what did not finish in
// time; Unavailable when NCCL reports a peer gone; Internal for other NCCL or
// CUDA failures, naming the call and NCCL's or CUDA's message.
absl::StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(KeyValueStore& store, int rank,
                                                                   int world_size, int device,
                                                                   const NcclOptions& options);

}  // namespace flopwise::comm
