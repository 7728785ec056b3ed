#include "worker/data/rank_table.h"

#include <cstring>

namespace flopwise::data {

uint64_t RankTable::Head(std::string_view bytes) {
  uint64_t head = 0;
  std::memcpy(&head, bytes.data(), bytes.size() < 8 ? bytes.size() : 8);
  return head;
}

uint64_t RankTable::Hash(uint64_t head, std::string_view bytes) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = (head ^ (bytes.size() * kMul)) * kMul;
  h ^= h >> 32;
  for (size_t i = 8; i < bytes.size(); i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, bytes.size() - i < 8 ? bytes.size() - i : 8);
    h = (h ^ word) * kMul;
    h ^= h >> 32;
  }
  h *= 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 29);
}

RankTable::RankTable(const std::vector<std::string>& tokens) {
  offsets_.reserve(tokens.size() + 1);
  for (const std::string& token : tokens) {
    offsets_.push_back(static_cast<uint32_t>(arena_.size()));
    arena_ += token;
  }
  offsets_.push_back(static_cast<uint32_t>(arena_.size()));
  size_t capacity = 16;
  while (capacity < tokens.size() * 2) capacity *= 2;
  slots_.assign(capacity, Slot{0, 0, kNoRank});
  mask_ = capacity - 1;
  for (uint32_t rank = 0; rank < tokens.size(); ++rank) {
    const uint64_t head = Head(tokens[rank]);
    uint64_t i = Hash(head, tokens[rank]) & mask_;
    while (slots_[i].rank != kNoRank) i = (i + 1) & mask_;
    slots_[i] = Slot{head, static_cast<uint32_t>(tokens[rank].size()), rank};
  }
}

uint32_t RankTable::Find(std::string_view bytes) const {
  const uint64_t head = Head(bytes);
  for (uint64_t i = Hash(head, bytes) & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.rank == kNoRank) return kNoRank;
    if (slot.head == head && slot.length == bytes.size() &&
        (bytes.size() <= 8 || Bytes(slot.rank).substr(8) == bytes.substr(8))) {
      return slot.rank;
    }
  }
}

}  // namespace flopwise::data
