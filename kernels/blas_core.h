// Which OpenBLAS kernels run this process's CPU GEMMs. OpenBLAS picks them
// for the CPU when it is loaded, unless OPENBLAS_CORETYPE names others; the
// choice moves the GEMM rate by up to 1.8x on one machine (docs/perf.md,
// "BLAS kernels"), so runs report it.
#pragma once

#include <string>

namespace flopwise::kernels {

// OpenBLAS's name for the kernels it loaded, e.g. "Haswell" or "Cooperlake".
std::string BlasCoreName();

}  // namespace flopwise::kernels
