#include "kernels/blas_core.h"

#include <cblas.h>

namespace flopwise::kernels {

std::string BlasCoreName() {
  const char* name = openblas_get_corename();
  return name == nullptr ? "" : name;
}

}  // namespace flopwise::kernels
