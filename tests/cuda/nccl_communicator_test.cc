// The NCCL communicator (docs/distributed.md, "GPU ranks (NCCL)"): ranks on
// threads of one process, one GPU each, meeting through a file store. Tests
// that need GPUs skip with the reason where NCCL is not built or too few are
// visible; the no-device test runs in every build.
#include "comm/nccl_communicator.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "comm/file_key_value_store.h"
#include "tests/comm/comm_test_util.h"

#ifdef FLOPWISE_HAVE_NCCL
#include <cuda_runtime.h>
#endif

namespace flopwise::comm {
namespace {

using Config = std::vector<std::pair<std::string, std::string>>;

const Config kConfig = {{"--batch-tokens", "128"}, {"--seed", "1"}};

int VisibleGpus() {
#ifdef FLOPWISE_HAVE_NCCL
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

// Why a test that needs `gpus` GPUs cannot run here; "" when it can.
std::string WhyNotRunnable(int gpus) {
#ifndef FLOPWISE_HAVE_NCCL
  (void)gpus;
  return "built without CUDA/NCCL: the NCCL communicator is not exercised";
#else
  const int visible = VisibleGpus();
  if (visible >= gpus) return "";
  return absl::StrCat("fewer than ", gpus, " GPUs visible (", visible,
                      "): the NCCL communicator is not exercised");
#endif
}

absl::StatusOr<std::unique_ptr<Communicator>> Join(const std::string& dir, int rank, int world_size,
                                                   int device, const Config& config = kConfig,
                                                   absl::Duration timeout = absl::Seconds(60)) {
  auto store = FileKeyValueStore::Open(dir);
  if (!store.ok()) return store.status();
  NcclOptions options;
  options.timeout = timeout;
  options.config = config;
  return MakeNcclCommunicator(**store, rank, world_size, device, options);
}

#ifdef FLOPWISE_HAVE_NCCL
// `values` copied into memory of the calling thread's current device.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& values) : size_(values.size()) {
    EXPECT_EQ(cudaMalloc(&data_, bytes()), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(data_, values.data(), bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceBuffer() { (void)cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  int64_t size() const { return static_cast<int64_t>(size_); }
  std::vector<T> Read() const {
    std::vector<T> values(size_);
    EXPECT_EQ(cudaMemcpy(values.data(), data_, bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
    return values;
  }

 private:
  size_t bytes() const { return size_ * sizeof(T); }

  size_t size_;
  T* data_ = nullptr;
};
#endif

TEST(NcclCommunicator, WithoutADeviceFailsCleanlyBeforeTheRendezvous) {
  const std::string dir = MakeTempDir("nccl-nodevice");
#ifdef FLOPWISE_HAVE_NCCL
  if (VisibleGpus() > 0) GTEST_SKIP() << "a CUDA device is visible: the no-device path is not run";
#endif
  auto comm = Join(dir, 0, 2, 0);
  ASSERT_FALSE(comm.ok());
#ifdef FLOPWISE_HAVE_NCCL
  EXPECT_TRUE(absl::IsFailedPrecondition(comm.status())) << comm.status();
  EXPECT_TRUE(absl::StrContains(comm.status().message(), "no CUDA device visible"))
      << comm.status();
#else
  EXPECT_TRUE(absl::IsUnimplemented(comm.status())) << comm.status();
  EXPECT_TRUE(absl::StrContains(comm.status().message(), "built without CUDA/NCCL"))
      << comm.status();
#endif
  // Nothing was published: the peers are not told this rank joined.
  auto store = FileKeyValueStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(
      absl::IsDeadlineExceeded((*store)->Get("flopwise/rank/0", absl::Milliseconds(1)).status()));
}

TEST(NcclCommunicator, DeviceOutsideTheVisibleOnesIsInvalidArgument) {
  if (std::string why = WhyNotRunnable(1); !why.empty()) GTEST_SKIP() << why;
  auto comm = Join(MakeTempDir("nccl-device"), 0, 1, VisibleGpus());
  EXPECT_TRUE(absl::IsInvalidArgument(comm.status())) << comm.status();
  EXPECT_TRUE(absl::StrContains(comm.status().message(), "device: ")) << comm.status();
}

TEST(NcclCommunicator, OneRankKeepsItsDataAlsoInHostMemory) {
  if (std::string why = WhyNotRunnable(1); !why.empty()) GTEST_SKIP() << why;
#ifdef FLOPWISE_HAVE_NCCL
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  auto comm = Join(MakeTempDir("nccl-one"), 0, 1, 0);
  ASSERT_TRUE(comm.ok()) << comm.status();
  DeviceBuffer<float> floats(std::vector<float>{1.5f, -2.0f, 3.0f});
  ASSERT_TRUE((*comm)->AllReduceSum(floats.data(), floats.size()).ok());
  EXPECT_EQ(floats.Read(), (std::vector<float>{1.5f, -2.0f, 3.0f}));
  ASSERT_TRUE((*comm)->Broadcast(floats.data(), floats.size(), 0).ok());
  EXPECT_EQ(floats.Read(), (std::vector<float>{1.5f, -2.0f, 3.0f}));
  ASSERT_TRUE((*comm)->Barrier().ok());
  auto gathered = (*comm)->AllGather(uint64_t{0xFEEDFACECAFEBEEF});
  ASSERT_TRUE(gathered.ok()) << gathered.status();
  EXPECT_EQ(*gathered, std::vector<uint64_t>{0xFEEDFACECAFEBEEF});

  // Host memory goes through the staging buffer and comes back unchanged.
  std::vector<double> host = {0.25, -7.0};
  ASSERT_TRUE((*comm)->AllReduceSum(host.data(), 2).ok());
  EXPECT_EQ(host, (std::vector<double>{0.25, -7.0}));
  EXPECT_TRUE((*comm)->Barrier().ok());
#endif
}

TEST(NcclCommunicator, TwoRanksAllReduceBroadcastBarrierAllGather) {
  if (std::string why = WhyNotRunnable(2); !why.empty()) GTEST_SKIP() << why;
#ifdef FLOPWISE_HAVE_NCCL
  const int n = 2;
  const std::string dir = MakeTempDir("nccl-two");
  RunRanks(n, [&](int rank) {
    ASSERT_EQ(cudaSetDevice(rank), cudaSuccess);
    auto comm = Join(dir, rank, n, /*device=*/rank);
    ASSERT_TRUE(comm.ok()) << comm.status();
    EXPECT_EQ((*comm)->rank(), rank);
    EXPECT_EQ((*comm)->world_size(), n);

    // Small integers: every summation order gives the exact sum.
    std::vector<float> values(2500);
    for (size_t i = 0; i < values.size(); ++i) values[i] = float(i % 100) + 1000.0f * rank;
    DeviceBuffer<float> floats(values);
    ASSERT_TRUE(AllReduceSumInBuckets(**comm, floats.data(), 2500, /*bucket_floats=*/1000).ok());
    const std::vector<float> summed = floats.Read();
    for (size_t i = 0; i < summed.size(); ++i) {
      ASSERT_EQ(summed[i], float(n) * float(i % 100) + 1000.0f) << i;
    }
    DeviceBuffer<double> doubles(std::vector<double>{0.5 * rank, 1.0});
    ASSERT_TRUE((*comm)->AllReduceSum(doubles.data(), 2).ok());
    EXPECT_EQ(doubles.Read(), (std::vector<double>{0.5, 2.0}));

    DeviceBuffer<float> weights(std::vector<float>(1000, float(rank)));
    ASSERT_TRUE((*comm)->Broadcast(weights.data(), 1000, /*root=*/1).ok());
    EXPECT_EQ(weights.Read(), std::vector<float>(1000, 1.0f));

    // Host memory, staged: a sum (the trainer's loss) and a broadcast larger
    // than the first (the staging buffer grows).
    double loss = 1.5 + rank;
    ASSERT_TRUE((*comm)->AllReduceSum(&loss, 1).ok());
    EXPECT_EQ(loss, 4.0);
    std::vector<int64_t> record(64, 10 + rank);
    ASSERT_TRUE((*comm)->BroadcastBytes(record.data(), 64 * sizeof(int64_t), /*root=*/0).ok());
    EXPECT_EQ(record, std::vector<int64_t>(64, 10));

    ASSERT_TRUE((*comm)->Barrier().ok());
    auto gathered = (*comm)->AllGather(uint64_t{100} + rank);
    ASSERT_TRUE(gathered.ok()) << gathered.status();
    EXPECT_EQ(*gathered, (std::vector<uint64_t>{100, 101}));
  });
#endif
}

TEST(NcclCommunicator, ConfigMismatchIsAnErrorOnBothRanks) {
  if (std::string why = WhyNotRunnable(2); !why.empty()) GTEST_SKIP() << why;
  const std::string dir = MakeTempDir("nccl-config");
  std::array<absl::Status, 2> results;
  RunRanks(2, [&](int rank) {
    Config config = kConfig;
    if (rank == 1) config[0].second = "256";
    results[rank] = Join(dir, rank, 2, /*device=*/rank, config).status();
  });
  for (const absl::Status& s : results) {
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "--batch-tokens")) << s;
  }
}

TEST(NcclCommunicator, CollectiveAPeerNeverJoinsEndsAtTheTimeout) {
  if (std::string why = WhyNotRunnable(2); !why.empty()) GTEST_SKIP() << why;
#ifdef FLOPWISE_HAVE_NCCL
  const std::string dir = MakeTempDir("nccl-timeout");
  absl::Notification rank0_done;
  RunRanks(2, [&](int rank) {
    ASSERT_EQ(cudaSetDevice(rank), cudaSuccess);
    auto comm = Join(dir, rank, 2, /*device=*/rank, kConfig, absl::Seconds(5));
    if (!comm.ok()) {
      if (rank == 0) rank0_done.Notify();
      FAIL() << comm.status();
    }
    if (rank == 1) {
      // Rank 1 stays connected but never calls the all-reduce.
      rank0_done.WaitForNotification();
      return;
    }
    DeviceBuffer<float> floats(std::vector<float>(16, 1.0f));
    const absl::Status s = (*comm)->AllReduceSum(floats.data(), floats.size());
    EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "no answer from a peer rank")) << s;
    // The communicator was aborted: later collectives fail the same way.
    EXPECT_EQ((*comm)->Barrier(), s);
    rank0_done.Notify();
  });
#endif
}

}  // namespace
}  // namespace flopwise::comm
