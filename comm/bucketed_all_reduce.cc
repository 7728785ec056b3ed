#include "comm/bucketed_all_reduce.h"

#include <algorithm>
#include <chrono>

namespace flopwise::comm {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

BucketedAllReduce::BucketedAllReduce(Communicator* communicator, float* data, Mode mode,
                                     BucketSizes sizes)
    : communicator_(communicator), data_(data), mode_(mode), sizes_(sizes) {
  if (mode_ == Mode::kOverlapped) thread_ = std::thread([this] { Loop(); });
}

BucketedAllReduce::~BucketedAllReduce() {
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    changed_.SignalAll();
  }
  thread_.join();
}

void BucketedAllReduce::Add(int64_t offset, int64_t count) {
  if (count <= 0) return;
  if (pending_.count == 0) {
    pending_ = {offset, count};
  } else if (offset + count == pending_.offset) {  // just below: the backward order
    pending_ = {offset, pending_.count + count};
  } else if (offset == pending_.offset + pending_.count) {
    pending_.count += count;
  } else {
    ClosePending();
    pending_ = {offset, count};
  }
  if (pending_.count >= sizes_.min_floats) ClosePending();
}

void BucketedAllReduce::ClosePending() {
  std::deque<Bucket> buckets;
  for (int64_t done = 0; done < pending_.count; done += sizes_.max_floats) {
    buckets.push_back({pending_.offset + done, std::min(sizes_.max_floats, pending_.count - done)});
  }
  pending_ = {};
  if (mode_ == Mode::kAtFinish) {
    deferred_.insert(deferred_.end(), buckets.begin(), buckets.end());
    return;
  }
  absl::MutexLock lock(&mu_);
  queue_.insert(queue_.end(), buckets.begin(), buckets.end());
  unfinished_ += static_cast<int64_t>(buckets.size());
  changed_.SignalAll();
}

double BucketedAllReduce::Reduce(const Bucket& bucket) {
  {
    absl::MutexLock lock(&mu_);
    if (!error_.ok()) return 0.0;
  }
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = communicator_->AllReduceSum(data_ + bucket.offset, bucket.count);
  const double seconds = SecondsSince(start);
  if (!s.ok()) {
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = std::move(s);
  }
  return seconds;
}

void BucketedAllReduce::Loop() {
  while (true) {
    Bucket bucket;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) changed_.Wait(&mu_);
      if (stopping_) return;
      bucket = queue_.front();
      queue_.pop_front();
    }
    const double seconds = Reduce(bucket);
    absl::MutexLock lock(&mu_);
    reduce_s_ += seconds;
    --unfinished_;
    changed_.SignalAll();
  }
}

absl::Status BucketedAllReduce::Finish() {
  ClosePending();
  const auto start = std::chrono::steady_clock::now();
  double reduce_s = 0.0;
  if (mode_ == Mode::kAtFinish) {
    for (const Bucket& bucket : deferred_) reduce_s += Reduce(bucket);
    deferred_.clear();
  }
  absl::MutexLock lock(&mu_);
  while (unfinished_ > 0) changed_.Wait(&mu_);
  reduce_s += reduce_s_;
  reduce_s_ = 0.0;
  last_step_ = {reduce_s, SecondsSince(start)};
  return error_;
}

}  // namespace flopwise::comm
