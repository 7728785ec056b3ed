#include "comm/communicator.h"

#include <algorithm>

namespace flopwise::comm {
namespace {

class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  absl::Status AllReduceSum(float*, int64_t) override { return absl::OkStatus(); }
  absl::Status AllReduceSum(double*, int64_t) override { return absl::OkStatus(); }
  absl::Status BroadcastBytes(void*, int64_t, int) override { return absl::OkStatus(); }
  absl::Status Barrier() override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<uint64_t>> AllGather(uint64_t value) override {
    return std::vector<uint64_t>{value};
  }
};

}  // namespace

absl::Status AllReduceSumInBuckets(Communicator& communicator, float* data, int64_t count,
                                   int64_t bucket_floats) {
  for (int64_t begin = 0; begin < count; begin += bucket_floats) {
    const int64_t size = std::min(bucket_floats, count - begin);
    if (absl::Status s = communicator.AllReduceSum(data + begin, size); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::unique_ptr<Communicator> MakeSingleProcessCommunicator() {
  return std::make_unique<SingleProcessCommunicator>();
}

}  // namespace flopwise::comm
