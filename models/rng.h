// A small seeded random number generator whose whole state fits in a
// checkpoint (xoshiro256** seeded through splitmix64). The same seed gives
// the same stream on every platform.
#pragma once

#include <array>
#include <cstdint>

namespace flopwise::models {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t NextU64();
  double NextUniform();            // in [0, 1)
  float NextNormal(float stddev);  // N(0, stddev²), Box–Muller in double

  using State = std::array<uint64_t, 4>;
  State state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  State state_;
};

}  // namespace flopwise::models
