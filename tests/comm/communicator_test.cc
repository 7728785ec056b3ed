// The Gloo communicator between ranks on threads of one process, meeting
// through a file store in a temporary folder (real TCP over loopback).
#include "comm/communicator.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <mutex>
#include <numeric>
#include <vector>

#include "absl/synchronization/notification.h"
#include "comm/file_key_value_store.h"
#include "tests/comm/comm_test_util.h"

namespace flopwise::comm {
namespace {

using Config = std::vector<std::pair<std::string, std::string>>;

const Config kConfig = {{"--batch-tokens", "128"}, {"--seed", "1"}};

absl::StatusOr<std::unique_ptr<Communicator>> Join(const std::string& dir, int rank, int world_size,
                                                   const Config& config = kConfig,
                                                   absl::Duration timeout = absl::Seconds(60)) {
  auto store = FileKeyValueStore::Open(dir);
  if (!store.ok()) return store.status();
  GlooOptions options;
  options.timeout = timeout;
  options.config = config;
  return MakeGlooCommunicator(**store, rank, world_size, options);
}

class Collectives : public ::testing::TestWithParam<int> {};

TEST_P(Collectives, AllReduceBroadcastBarrierAllGather) {
  const int n = GetParam();
  const std::string dir = MakeTempDir("comm");
  RunRanks(n, [&](int rank) {
    auto comm = Join(dir, rank, n);
    ASSERT_TRUE(comm.ok()) << comm.status();
    EXPECT_EQ((*comm)->rank(), rank);
    EXPECT_EQ((*comm)->world_size(), n);

    // Small integers: every summation order gives the exact sum.
    std::vector<float> floats(2500);
    for (size_t i = 0; i < floats.size(); ++i) floats[i] = float(i % 100) + 1000.0f * rank;
    ASSERT_TRUE(AllReduceSumInBuckets(**comm, floats.data(), 2500, /*bucket_floats=*/1000).ok());
    const float rank_sum = 1000.0f * float(n * (n - 1) / 2);
    for (size_t i = 0; i < floats.size(); ++i) {
      ASSERT_EQ(floats[i], float(n) * float(i % 100) + rank_sum) << i;
    }
    std::array<double, 2> doubles = {0.5 * rank, 1.0};
    ASSERT_TRUE((*comm)->AllReduceSum(doubles.data(), 2).ok());
    EXPECT_EQ(doubles[0], 0.5 * (n * (n - 1) / 2));
    EXPECT_EQ(doubles[1], double(n));

    const int root = n - 1;
    std::vector<float> weights(1000, float(rank));
    ASSERT_TRUE((*comm)->Broadcast(weights.data(), 1000, root).ok());
    EXPECT_EQ(weights, std::vector<float>(1000, float(root)));

    ASSERT_TRUE((*comm)->Barrier().ok());
    auto gathered = (*comm)->AllGather(uint64_t{100} + rank);
    ASSERT_TRUE(gathered.ok()) << gathered.status();
    std::vector<uint64_t> expected(n);
    std::iota(expected.begin(), expected.end(), uint64_t{100});
    EXPECT_EQ(*gathered, expected);
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, Collectives, ::testing::Values(2, 3));

TEST(GlooCommunicator, ConfigMismatchIsAnErrorOnEveryRank) {
  const std::string dir = MakeTempDir("comm-config");
  std::array<absl::Status, 3> results;
  RunRanks(3, [&](int rank) {
    Config config = kConfig;
    if (rank == 2) config[0].second = "256";
    results[rank] = Join(dir, rank, 3, config).status();
  });
  for (int rank = 0; rank < 3; ++rank) {
    EXPECT_TRUE(absl::IsFailedPrecondition(results[rank])) << rank << ": " << results[rank];
    EXPECT_NE(results[rank].message().find("run config differs"), std::string::npos)
        << results[rank];
  }
  EXPECT_NE(results[0].message().find("--batch-tokens 256 vs 128"), std::string::npos)
      << results[0];
  EXPECT_NE(results[2].message().find("--batch-tokens 128 vs 256"), std::string::npos)
      << results[2];
}

TEST(GlooCommunicator, WorldSizeMismatchIsAnErrorOnEveryRank) {
  const std::string dir = MakeTempDir("comm-world");
  std::array<absl::Status, 2> results;
  RunRanks(2, [&](int rank) { results[rank] = Join(dir, rank, rank == 0 ? 2 : 3).status(); });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_TRUE(absl::IsFailedPrecondition(results[rank])) << rank << ": " << results[rank];
    EXPECT_NE(results[rank].message().find("world size differs"), std::string::npos)
        << results[rank];
  }
}

TEST(GlooCommunicator, AMissingRankIsADeadlineNamingIt) {
  const absl::Status s =
      Join(MakeTempDir("comm-alone"), 0, 2, kConfig, absl::Milliseconds(200)).status();
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_NE(s.message().find("rank 1 of 2 did not join"), std::string::npos) << s;
}

// A folder an earlier launch met in holds that launch's transport
// addresses: a clear error on every rank of the next, never a connection to
// a stale address.
TEST(GlooCommunicator, AReusedRendezvousFolderIsAnErrorOnEveryRank) {
  const std::string dir = MakeTempDir("comm-reused");
  // Both stay until both have joined (a rank that let go at once could close
  // the connection its peer was still making).
  RunRanks(2, [&](int rank) {
    auto comm = Join(dir, rank, 2);
    ASSERT_TRUE(comm.ok()) << comm.status();
    ASSERT_TRUE((*comm)->Barrier().ok());
  });
  std::array<absl::Status, 2> again;
  RunRanks(2, [&](int rank) { again[rank] = Join(dir, rank, 2).status(); });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_TRUE(absl::IsFailedPrecondition(again[rank])) << rank << ": " << again[rank];
    EXPECT_NE(again[rank].message().find("already holds another value"), std::string::npos)
        << again[rank];
  }
}

TEST(GlooCommunicator, BadRankIsInvalidArgument) {
  const std::string dir = MakeTempDir("comm-bad");
  EXPECT_TRUE(absl::IsInvalidArgument(Join(dir, 2, 2).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Join(dir, -1, 2).status()));
}

// A rank whose peer is gone gets an error, not a hang: the connection's end
// is seen long before the (60 s) timeout, and every later call fails too.
TEST(GlooCommunicator, APeerThatLeavesFailsTheCollective) {
  const std::string dir = MakeTempDir("comm-gone");
  std::mutex mu;
  std::array<std::unique_ptr<Communicator>, 2> comms;
  RunRanks(2, [&](int rank) {
    auto comm = Join(dir, rank, 2);
    ASSERT_TRUE(comm.ok()) << comm.status();
    std::lock_guard<std::mutex> lock(mu);
    comms[rank] = *std::move(comm);
  });
  ASSERT_TRUE(comms[0] && comms[1]);
  comms[1].reset();
  std::vector<float> data(100, 1.0f);
  const absl::Status s = comms[0]->AllReduceSum(data.data(), 100);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("a peer rank is gone"), std::string::npos) << s;
  EXPECT_EQ(comms[0]->Barrier(), s);
}

// A peer that is alive but never joins the collective (stuck, or its link
// drops packets) fails it once the timeout has passed.
TEST(GlooCommunicator, APeerThatNeverAnswersFailsTheCollectiveAfterTheTimeout) {
  const std::string dir = MakeTempDir("comm-stuck");
  absl::Notification done;
  absl::Status status;
  RunRanks(2, [&](int rank) {
    auto comm = Join(dir, rank, 2, kConfig, absl::Seconds(2));
    ASSERT_TRUE(comm.ok()) << comm.status();
    if (rank == 1) {
      done.WaitForNotification();  // holds its connections open, calls nothing
      return;
    }
    std::vector<float> data(100, 1.0f);
    status = (*comm)->AllReduceSum(data.data(), 100);
    done.Notify();
  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_NE(status.message().find("no answer from a peer rank within 2s"), std::string::npos)
      << status;
}

TEST(SingleProcessCommunicator, CollectivesLeaveDataAsItIs) {
  std::unique_ptr<Communicator> comm = MakeSingleProcessCommunicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->world_size(), 1);
  std::vector<float> data = {1.5f, -2.0f};
  ASSERT_TRUE(AllReduceSumInBuckets(*comm, data.data(), 2, 1).ok());
  ASSERT_TRUE(comm->Broadcast(data.data(), 2, 0).ok());
  EXPECT_EQ(data, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(*comm->AllGather(7), std::vector<uint64_t>{7});
}

}  // namespace
}  // namespace flopwise::comm
