// Open-addressing hash table from token bytes to rank, built once from a
// ranks file and read concurrently. Private to worker/data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flopwise::data {

class RankTable {
 public:
  static constexpr uint32_t kNoRank = UINT32_MAX;

  // tokens[rank] holds the bytes of each rank.
  explicit RankTable(const std::vector<std::string>& tokens);

  // Returns the rank of `bytes`, or kNoRank.
  uint32_t Find(std::string_view bytes) const;

  // Bytes of `rank`; REQUIRES: rank < size().
  std::string_view Bytes(uint32_t rank) const {
    return std::string_view(arena_).substr(offsets_[rank], offsets_[rank + 1] - offsets_[rank]);
  }
  size_t size() const { return offsets_.size() - 1; }

 private:
  // A slot keeps a token's length and first 8 bytes, so that most lookups
  // (tokens of at most 8 bytes) never touch the arena.
  struct Slot {
    uint64_t head;
    uint32_t length;
    uint32_t rank;  // kNoRank marks an empty slot
  };
  static uint64_t Head(std::string_view bytes);
  static uint64_t Hash(uint64_t head, std::string_view bytes);

  std::string arena_;              // every token's bytes, by rank
  std::vector<uint32_t> offsets_;  // rank -> start in arena_ (size() + 1 entries)
  std::vector<Slot> slots_;        // power-of-two capacity, linear probing
  uint64_t mask_ = 0;
};

}  // namespace flopwise::data
