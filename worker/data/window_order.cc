#include "worker/data/window_order.h"

#include <bit>

namespace flopwise::data {
namespace {

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A bijection of [0, n) keyed by `key`.
uint64_t Permute(uint64_t x, uint64_t n, uint64_t key) {
  if (n <= 1) return x;
  int bits = 64 - std::countl_zero(n - 1);
  bits += bits % 2;
  const int half = bits / 2;
  const uint64_t mask = (uint64_t{1} << half) - 1;
  do {
    uint64_t left = x >> half, right = x & mask;
    for (uint64_t round = 0; round < 4; ++round) {
      const uint64_t next = left ^ (Mix(right ^ key ^ (round << 56)) & mask);
      left = right;
      right = next;
    }
    x = (left << half) | right;
  } while (x >= n);
  return x;
}

}  // namespace

uint64_t WindowAt(uint64_t step, uint64_t windows, uint64_t seed, bool shuffle) {
  const uint64_t epoch = step / windows;
  const uint64_t index = step % windows;
  if (!shuffle) return index;
  return Permute(index, windows, Mix(seed ^ Mix(epoch)));
}

}  // namespace flopwise::data
