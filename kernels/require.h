// The backends' precondition check (kernels/backend.h: a violated REQUIRES
// aborts with a message naming the op and the argument).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace flopwise::kernels {

// Aborts with the violated precondition (a programming error in the caller).
inline void Require(bool ok, const char* op, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "flopwise kernels: %s: %s\n", op, what);
  std::abort();
}

}  // namespace flopwise::kernels
