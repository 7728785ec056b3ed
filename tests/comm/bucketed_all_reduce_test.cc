// BucketedAllReduce: the buckets it makes from the ranges handed in, the same
// sums (bits) on its thread and at Finish, over Gloo ranks on threads of one
// process, and a failed collective reported by Finish.
#include "comm/bucketed_all_reduce.h"

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "comm/file_key_value_store.h"
#include "tests/comm/comm_test_util.h"

namespace flopwise::comm {
namespace {

using Mode = BucketedAllReduce::Mode;
using Range = std::pair<int64_t, int64_t>;  // offset, count

// Rank 0 of 1 that records each all-reduce's range of `base` and adds 1 to
// its elements; the call numbered `fail_at` (0-based) fails instead.
class RecordingCommunicator final : public Communicator {
 public:
  RecordingCommunicator(const float* base, int fail_at = -1) : base_(base), fail_at_(fail_at) {}

  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  absl::Status AllReduceSum(float* data, int64_t count) override {
    if (static_cast<int>(calls_.size()) == fail_at_) {
      calls_.emplace_back(data - base_, count);
      return absl::UnavailableError("all-reduce: a peer rank is gone");
    }
    calls_.emplace_back(data - base_, count);
    for (int64_t i = 0; i < count; ++i) data[i] += 1.0f;
    return absl::OkStatus();
  }
  absl::Status AllReduceSum(double*, int64_t) override { return absl::OkStatus(); }
  absl::Status BroadcastBytes(void*, int64_t, int) override { return absl::OkStatus(); }
  absl::Status Barrier() override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<uint64_t>> AllGather(uint64_t value) override {
    return std::vector<uint64_t>{value};
  }

  // Read after Finish, which orders them after the calls.
  const std::vector<Range>& calls() const { return calls_; }

 private:
  const float* base_;
  const int fail_at_;
  std::vector<Range> calls_;
};

// The ranges of a backward pass over an arena of 100 floats: layers of 20 at
// [20, 100) from the last to the first, then the embedding [0, 20).
const std::vector<Range> kBackwardRanges = {{80, 20}, {60, 20}, {40, 20}, {20, 20}, {0, 20}};

const char* ModeName(Mode mode) { return mode == Mode::kOverlapped ? "Overlapped" : "AtFinish"; }

class Buckets : public ::testing::TestWithParam<Mode> {};

// Adjacent ranges join until a bucket holds 30 floats; buckets over 25 are
// split; every float is reduced once, in the order the ranges came.
TEST_P(Buckets, JoinAdjacentRangesAndSplitLargeOnes) {
  std::vector<float> data(100, 0.0f);
  RecordingCommunicator comm(data.data());
  BucketedAllReduce reduce(&comm, data.data(), GetParam(), {.min_floats = 30, .max_floats = 25});
  for (int step = 0; step < 2; ++step) {
    for (const auto& [offset, count] : kBackwardRanges) reduce.Add(offset, count);
    ASSERT_TRUE(reduce.Finish().ok());
  }
  // [60, 100) and [20, 60) reach 30 floats at their second range; [0, 20)
  // is what is left at Finish.
  const std::vector<Range> step_buckets = {{60, 25}, {85, 15}, {20, 25}, {45, 15}, {0, 20}};
  std::vector<Range> expected = step_buckets;
  expected.insert(expected.end(), step_buckets.begin(), step_buckets.end());
  EXPECT_EQ(comm.calls(), expected);
  EXPECT_EQ(data, std::vector<float>(100, 2.0f));
}

// Ranges that do not touch the pending bucket close it.
TEST_P(Buckets, ARangeElsewhereClosesThePendingBucket) {
  std::vector<float> data(100, 0.0f);
  RecordingCommunicator comm(data.data());
  BucketedAllReduce reduce(&comm, data.data(), GetParam(), {.min_floats = 50, .max_floats = 100});
  reduce.Add(40, 10);
  reduce.Add(90, 10);  // not adjacent to [40, 50)
  reduce.Add(50, 5);   // not adjacent to [90, 100)
  reduce.Add(55, 5);   // just above [50, 55)
  ASSERT_TRUE(reduce.Finish().ok());
  EXPECT_EQ(comm.calls(), (std::vector<Range>{{40, 10}, {90, 10}, {50, 10}}));
}

// The first failure is Finish's error; the buckets after it are not reduced.
TEST_P(Buckets, AFailedCollectiveIsTheStepsError) {
  std::vector<float> data(100, 0.0f);
  RecordingCommunicator comm(data.data(), /*fail_at=*/1);
  BucketedAllReduce reduce(&comm, data.data(), GetParam(), {.min_floats = 1, .max_floats = 100});
  for (const auto& [offset, count] : kBackwardRanges) reduce.Add(offset, count);
  const absl::Status s = reduce.Finish();
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("a peer rank is gone"), std::string::npos) << s;
  EXPECT_EQ(comm.calls(), (std::vector<Range>{{80, 20}, {60, 20}}));
}

INSTANTIATE_TEST_SUITE_P(Modes, Buckets, ::testing::Values(Mode::kOverlapped, Mode::kAtFinish),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return std::string(ModeName(info.param));
                         });

// Three Gloo ranks (where the order of a sum changes its bits) reduce random
// floats in 100 ranges, once on the thread and once at Finish: the same bits
// on every rank and in both modes, and the sum to float rounding.
TEST(BucketedAllReduce, OverlappedAndAtFinishGiveTheSameBitsOverGloo) {
  constexpr int kRanks = 3;
  constexpr int64_t kFloats = 100 * 37;
  std::vector<std::vector<float>> inputs(kRanks, std::vector<float>(kFloats));
  for (int rank = 0; rank < kRanks; ++rank) {
    std::mt19937 rng(rank + 1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& x : inputs[rank]) x = normal(rng);
  }
  std::vector<float> sum(kFloats, 0.0f);
  for (const std::vector<float>& input : inputs) {
    for (int64_t i = 0; i < kFloats; ++i) sum[i] += input[i];
  }
  std::vector<std::vector<float>> results[2];
  for (int m = 0; m < 2; ++m) {
    const Mode mode = m == 0 ? Mode::kOverlapped : Mode::kAtFinish;
    results[m].assign(kRanks, {});
    const std::string dir = MakeTempDir("bucketed");
    RunRanks(kRanks, [&](int rank) {
      auto store = FileKeyValueStore::Open(dir);
      ASSERT_TRUE(store.ok()) << store.status();
      GlooOptions options;
      options.timeout = absl::Seconds(60);
      auto comm = MakeGlooCommunicator(**store, rank, kRanks, options);
      ASSERT_TRUE(comm.ok()) << comm.status();
      std::vector<float> data = inputs[rank];
      BucketedAllReduce reduce(comm->get(), data.data(), mode,
                               {.min_floats = 100, .max_floats = 150});
      for (int64_t offset = kFloats - 37; offset >= 0; offset -= 37) reduce.Add(offset, 37);
      ASSERT_TRUE(reduce.Finish().ok());
      results[m][rank] = std::move(data);
    });
  }
  for (int rank = 0; rank < kRanks; ++rank) {
    ASSERT_EQ(results[0][rank].size(), size_t{kFloats});
    EXPECT_EQ(std::memcmp(results[0][rank].data(), results[0][0].data(), kFloats * sizeof(float)),
              0)
        << "rank " << rank;
    EXPECT_EQ(
        std::memcmp(results[1][rank].data(), results[0][rank].data(), kFloats * sizeof(float)), 0)
        << "rank " << rank;
  }
  for (int64_t i = 0; i < kFloats; ++i) ASSERT_NEAR(results[0][0][i], sum[i], 1e-5f) << i;
}

}  // namespace

// gtest prints a parameter with this (test names stay readable in ctest).
void PrintTo(BucketedAllReduce::Mode mode, std::ostream* os) { *os << ModeName(mode); }

}  // namespace flopwise::comm
