// Grow-only scratch memory shared by the ops of one backend: an op asks for
// what it needs, the buffer grows the first time and is reused afterwards.
#pragma once

#include <cstdint>
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
      capacity_ = count;
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  int64_t capacity_ = 0;
};

}  // namespace flopwise::kernels::cpu
