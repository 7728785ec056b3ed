// Grow-only scratch memory shared by the ops of one backend: an op asks for
// what it needs, the buffer grows the first time and is reused afterwards.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace flopwise::kernels::cpu {

template <typename T>
class Scratch {
 public:
  Scratch() = default;
  ~Scratch() { std::free(data_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Returns at least `count` elements (contents undefined). Invalidates
  // pointers returned earlier.
  T* Get(int64_t count) {
    if (count > capacity_) {
      std::free(data_);
      const int64_t bytes = ((count * static_cast<int64_t>(sizeof(T)) + 63) / 64) * 64;
      data_ = static_cast<T*>(std::aligned_alloc(64, static_cast<size_t>(bytes)));
      if (data_ == nullptr) {
        // Scratch grows in the first step; a failure here is a model too
        // large for this machine's memory, said in the trainer's log.
        std::fprintf(stderr,
                     "flopwise: out of memory: the CPU kernels' scratch buffer of %.1f MiB could "
                     "not be allocated\n",
                     static_cast<double>(bytes) / (1 << 20));
        std::abort();
      }
      capacity_ = count;
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  int64_t capacity_ = 0;
};

}  // namespace flopwise::kernels::cpu
