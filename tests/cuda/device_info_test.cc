#include "kernels/device_info.h"

#include <gtest/gtest.h>

namespace flopwise::kernels {
namespace {

TEST(DeviceInfo, HostHasCoresAndMemory) {
  HostInfo info = QueryHostInfo();
  EXPECT_GE(info.cpu_cores, 1);
  EXPECT_GT(info.memory_bytes, int64_t{1} << 26);
#ifdef FLOPWISE_HAVE_CUDA
  EXPECT_TRUE(info.cuda_compiled);
#else
  EXPECT_FALSE(info.cuda_compiled);
#endif
}

TEST(DeviceInfo, GpusReportNameAndMemory) {
  std::vector<GpuInfo> gpus = ListGpus();
  if (gpus.empty()) GTEST_SKIP() << "no CUDA device visible: GPU inventory not exercised";
  for (const GpuInfo& g : gpus) {
    EXPECT_FALSE(g.name.empty());
    EXPECT_GT(g.memory_bytes, 0);
    EXPECT_GE(g.compute_capability_major, 7);
  }
}

}  // namespace
}  // namespace flopwise::kernels
