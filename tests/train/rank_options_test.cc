// One rank's side of data parallelism without processes: the rank flags'
// checks and the weights' checksum compared across ranks (ranks on threads).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <thread>
#include <vector>

#include "comm/file_key_value_store.h"
#include "kernels/backend.h"
#include "tests/train/train_test_util.h"
#include "worker/train/data_parallel.h"
#include "worker/train/options.h"

namespace flopwise::train {
namespace {

absl::Status Validate(const TrainOptions& o) {
  auto config = ResolveModelConfig(o);
  if (!config.ok()) return config.status();
  return ValidateTrainOptions(o, *config);
}

TEST(RankOptions, BadRankFlagsNameTheFlag) {
  TrainOptions o = TinyRun("tokens.u32", "run");  // 4 sequences of 32 tokens per step
  o.world_size = 2;
  o.rank = 1;
  o.rendezvous = "file:/tmp/x";
  EXPECT_TRUE(Validate(o).ok()) << Validate(o);

  o.rank = 2;
  EXPECT_EQ(Validate(o).message(), "--rank: 2 is not < --world-size 2");
  o.rank = -1;
  EXPECT_EQ(Validate(o).message(), "--rank: must be ≥ 0");
  o.rank = 0;
  o.world_size = 0;
  EXPECT_EQ(Validate(o).message(), "--world-size: must be ≥ 1");
  o.world_size = 2;
  o.rendezvous.clear();
  EXPECT_EQ(Validate(o).message().rfind("--rendezvous: required when --world-size is 2", 0), 0u)
      << Validate(o);
  o.rendezvous = "file:/tmp/x";
  o.rendezvous_timeout_s = 0;
  EXPECT_EQ(Validate(o).message(), "--rendezvous-timeout-s: must be positive");
}

TEST(RankOptions, RankAddressMustBeOneOfThisHostsOrAnInterface) {
  TrainOptions o = TinyRun("tokens.u32", "run");
  o.world_size = 2;
  o.rendezvous = "file:/tmp/x";
  o.rank_address = "127.0.0.1";
  EXPECT_TRUE(Validate(o).ok()) << Validate(o);
  o.rank_address = "worker-7";
  EXPECT_EQ(Validate(o).message(),
            "--rank-address: 'worker-7' is not an IPv4 or IPv6 address (e.g. 10.0.0.5)");
  o.rank_address = "203.0.113.1";  // TEST-NET-3 (RFC 5737): on no host here
  EXPECT_EQ(
      Validate(o).message().rfind("--rank-address: 203.0.113.1 is not an address of this host", 0),
      0u)
      << Validate(o);
  o.rank_address = "127.0.0.1";
  o.rank_interface = "lo";
  EXPECT_EQ(Validate(o).message(), "--rank-address, --rank-interface: give one of them, not both");
  o.rank_address.clear();
  EXPECT_TRUE(Validate(o).ok()) << Validate(o);
  o.rank_interface = "nosuchif0";
  EXPECT_EQ(Validate(o).message().rfind("--rank-interface: this host has no network interface "
                                        "'nosuchif0'",
                                        0),
            0u)
      << Validate(o);
}

TEST(RankOptions, EveryRankNeedsAnEqualShareOfWholeSequences) {
  TrainOptions o = TinyRun("tokens.u32", "run");
  o.rendezvous = "file:/tmp/x";
  o.world_size = 4;
  EXPECT_TRUE(Validate(o).ok()) << Validate(o);
  o.world_size = 3;
  const absl::Status three = Validate(o);
  EXPECT_EQ(three.message().rfind("--batch-tokens: 128 tokens are 4 sequences", 0), 0u) << three;
  EXPECT_NE(three.message().find("--world-size 3 × --grad-accum 1"), std::string::npos) << three;
  o.world_size = 2;
  o.grad_accum = 4;  // 4 micro-steps of 1 sequence: none left for a second rank
  EXPECT_FALSE(Validate(o).ok());
  o.grad_accum = 2;
  EXPECT_TRUE(Validate(o).ok()) << Validate(o);
}

TEST(WeightsChecksum, SeesAnyChangedValue) {
  std::vector<float> weights(1001, 0.25f);
  const uint64_t before = WeightsChecksum(weights.data(), 1001);
  EXPECT_EQ(WeightsChecksum(weights.data(), 1001), before);
  weights[1000] = std::nextafter(0.25f, 1.0f);
  EXPECT_NE(WeightsChecksum(weights.data(), 1001), before);
}

// The backend's checksum reads the weights in chunks of 2^20 floats; over
// several chunks and an odd tail it is the hash of the whole.
TEST(WeightsChecksum, ThroughTheBackendInChunksIsTheWholesHash) {
  const int64_t count = (int64_t{2} << 20) + 3;
  auto backend = kernels::MakeCpuBackend(1);
  float* params = backend->AllocateFloats(count);
  ASSERT_NE(params, nullptr);
  std::vector<float> host(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) host[i] = static_cast<float>(i % 977) * 0.5f;
  backend->CopyFromHost(params, host.data(), count * int64_t{sizeof(float)});
  EXPECT_EQ(WeightsChecksum(*backend, params, count), WeightsChecksum(host.data(), count));
  host[(int64_t{1} << 20) + 1] += 1.0f;  // in the second chunk
  EXPECT_NE(WeightsChecksum(*backend, params, count), WeightsChecksum(host.data(), count));
  backend->Free(params);
}

// Weights that differ between ranks stop every rank, naming the ranks and step.
TEST(CheckWeightsMatch, AMismatchIsAnErrorOnEveryRank) {
  const std::string dir = MakeTempDir("checksum");
  std::array<absl::Status, 3> same, differ;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 3; ++rank) {
    threads.emplace_back([&, rank] {
      auto store = comm::FileKeyValueStore::Open(dir);
      ASSERT_TRUE(store.ok());
      auto communicator = comm::MakeGlooCommunicator(**store, rank, 3, comm::GlooOptions{});
      ASSERT_TRUE(communicator.ok()) << communicator.status();
      auto backend = kernels::MakeCpuBackend(1);
      std::vector<float> weights(64, 1.0f);
      same[rank] = CheckWeightsMatch(**communicator, *backend, weights.data(), 64, 3);
      if (rank == 2) weights[5] = 2.0f;
      differ[rank] = CheckWeightsMatch(**communicator, *backend, weights.data(), 64, 7);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int rank = 0; rank < 3; ++rank) {
    EXPECT_TRUE(same[rank].ok()) << same[rank];
    EXPECT_TRUE(absl::IsDataLoss(differ[rank])) << differ[rank];
    EXPECT_NE(differ[rank].message().find("weights differ between ranks after step 7"),
              std::string::npos)
        << differ[rank];
    EXPECT_NE(differ[rank].message().find("rank 2 has"), std::string::npos) << differ[rank];
    EXPECT_EQ(differ[rank].message().find("rank 1 has"), std::string::npos) << differ[rank];
  }
}

}  // namespace
}  // namespace flopwise::train
