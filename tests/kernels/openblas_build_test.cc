// The programs link OpenBLAS's OpenMP build and find it through their run
// path (cmake/FlopwiseDeps.cmake). Debian's default pthreads build has the
// same SONAME, so a lost run path would load it without a word, and the
// GEMMs' threads would spin against OpenMP's again (training steps 20-35%
// slower on 2 cores, docs/perf.md).
#include <cblas.h>
#include <gtest/gtest.h>
#include <omp.h>

#include "kernels/cpu/blas.h"

namespace flopwise::kernels {
namespace {

TEST(OpenBlasBuild, TheOpenMpBuildIsTheOneLoaded) {
#ifndef FLOPWISE_OPENBLAS_OPENMP
  GTEST_SKIP() << "configured without libopenblas-openmp-dev (CMake warned and fell back)";
#endif
  EXPECT_EQ(openblas_get_parallel(), OPENBLAS_OPENMP) << openblas_get_config();
}

// In the OpenMP build openblas_set_num_threads also sets OpenMP's count: a
// guard that called it would leave the kernels' own loops on one thread.
TEST(OpenBlasBuild, SingleThreadedBlasKeepsOpenMpThreadCount) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  {
    cpu::BlasSingleThreaded single_blas;
    EXPECT_EQ(omp_get_max_threads(), 2);
    int threads_in_region = 0;
#pragma omp parallel
    {
#pragma omp single
      threads_in_region = omp_get_num_threads();
    }
    EXPECT_EQ(threads_in_region, 2);
  }
  EXPECT_EQ(omp_get_max_threads(), 2);
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace flopwise::kernels
