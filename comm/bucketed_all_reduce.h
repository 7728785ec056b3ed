// The gradient all-reduce of one optimizer step, bucket by bucket as the
// backward pass finishes ranges of the gradient arena, so that summing one
// layer's gradients overlaps the backward pass of the layers below it
// (docs/distributed.md, "Overlap with the backward pass").
//
// The buckets depend only on the ranges handed in and their order, never on
// timing, and are all-reduced one after another in the order they were
// made: the same collectives with the same sizes on every rank, and the same
// sums (bits) whether they ran on a thread of their own (kOverlapped) or all
// at the end (kAtFinish).
#pragma once

#include <cstdint>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "comm/communicator.h"

namespace flopwise::comm {

class BucketedAllReduce {
 public:
  enum class Mode {
    // A thread of this object all-reduces each bucket as soon as it is made,
    // while the caller goes on (host memory the caller has finished writing).
    kOverlapped,
    // Finish all-reduces every bucket on the calling thread: overlap turned
    // off, or device memory that queued kernels may still be writing.
    kAtFinish,
  };

  // Adjacent ranges are joined into one bucket until it holds at least
  // min_floats (fewer, smaller collectives for small layers); a bucket larger
  // than max_floats is split into collectives of at most max_floats.
  struct BucketSizes {
    int64_t min_floats = int64_t{1} << 15;  // 128 KiB
    int64_t max_floats = kGradientBucketFloats;
  };

  // Sums ranges of data[] over the ranks of `communicator`, in place. Both
  // must outlive this object. Between the first Add of a step and its Finish
  // the communicator belongs to this object: the caller runs no collective.
  BucketedAllReduce(Communicator* communicator, float* data, Mode mode, BucketSizes sizes);
  BucketedAllReduce(Communicator* communicator, float* data, Mode mode)
      : BucketedAllReduce(communicator, data, mode, BucketSizes{}) {}
  // Stops the thread after the collective it is in (if any).
  ~BucketedAllReduce();
  BucketedAllReduce(const BucketedAllReduce&) = delete;
  BucketedAllReduce& operator=(const BucketedAllReduce&) = delete;

  // data[offset, offset + count) is final on this rank for this step: the
  // caller will not touch it again before Finish. Ranges must be disjoint.
  void Add(int64_t offset, int64_t count);

  // Ends the step: all-reduces what is left, waits until every bucket of the
  // step is summed and returns the first collective's error (the later
  // buckets of a failed step are not reduced). Then the next step may begin.
  absl::Status Finish();

  // Of the last finished step: the seconds spent inside collectives, and the
  // seconds Finish waited for them (kAtFinish: the two are about equal).
  struct StepTiming {
    double reduce_s = 0.0;
    double wait_s = 0.0;
  };
  StepTiming last_step() const { return last_step_; }

 private:
  struct Bucket {
    int64_t offset = 0, count = 0;
  };
  // Ends the pending range: its buckets go to the queue.
  void ClosePending();
  // All-reduces one bucket unless an earlier one failed; returns the seconds
  // it took.
  double Reduce(const Bucket& bucket) ABSL_LOCKS_EXCLUDED(mu_);
  // The thread of kOverlapped: reduces queued buckets until stopping_.
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  Communicator* const communicator_;
  float* const data_;
  const Mode mode_;
  const BucketSizes sizes_;
  // The range Add is joining (count 0: none); only the caller's thread.
  Bucket pending_;
  // kAtFinish: the step's buckets, in order; only the caller's thread.
  std::deque<Bucket> deferred_;
  StepTiming last_step_;

  absl::Mutex mu_;
  absl::CondVar changed_;  // a bucket queued or done, or stopping_ set
  std::deque<Bucket> queue_ ABSL_GUARDED_BY(mu_);
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;  // queued or being reduced
  double reduce_s_ ABSL_GUARDED_BY(mu_) = 0.0;   // this step's, so far
  absl::Status error_ ABSL_GUARDED_BY(mu_);      // the first failure
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // kOverlapped only
};

}  // namespace flopwise::comm
