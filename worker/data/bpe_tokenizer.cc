#include "worker/data/bpe_tokenizer.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/utf8.h"

namespace flopwise::data {

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(const EncodingSpec& spec,
                                                                   const RankedTokens& ranks) {
  bool has_byte[256] = {};
  for (const std::string& token : ranks) {
    if (token.size() == 1) has_byte[static_cast<unsigned char>(token[0])] = true;
  }
  for (int byte = 0; byte < 256; ++byte) {
    if (!has_byte[byte]) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.name, ": ranks have no token for the single byte ", byte));
    }
  }
  for (const auto& [text, id] : spec.special_tokens) {
    if (id < static_cast<int64_t>(ranks.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.name, ": special token ", text, " id ", id, " collides with a rank"));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Pretokenizer> pretokenizer, Pretokenizer::Compile(spec.pattern));
  return std::unique_ptr<BpeTokenizer>(
      new BpeTokenizer(spec.name, ranks, std::move(pretokenizer), spec.special_tokens));
}

BpeTokenizer::BpeTokenizer(std::string name, const RankedTokens& ranks,
                           std::unique_ptr<Pretokenizer> pretokenizer,
                           std::vector<std::pair<std::string, int32_t>> specials)
    : name_(std::move(name)),
      ranks_(ranks),
      pretokenizer_(std::move(pretokenizer)),
      specials_(std::move(specials)) {
  n_vocab_ = static_cast<int64_t>(ranks.size());
  for (const auto& [text, id] : specials_) {
    n_vocab_ = std::max<int64_t>(n_vocab_, int64_t{id} + 1);
    if (text == "<|endoftext|>") eot_id_ = id;
  }
}

namespace {

// Pieces longer than this are merged with a heap (O(n log n)) instead of
// rescanning every pair after each merge (O(n^2)); both merge the lowest rank
// first, leftmost on ties, so they give the same ids.
constexpr size_t kHeapMergeBytes = 128;

// Byte-pair merge of one piece by rescanning: fast for short pieces. Returns
// the start of each final part, then piece.size().
void MergeByScan(const RankTable& ranks, std::string_view piece, std::vector<size_t>* bounds) {
  // parts[i].rank: rank of merging part i with part i+1 (kNoRank if none).
  struct Part {
    size_t start;
    uint32_t rank;
  };
  thread_local std::vector<Part> parts;
  parts.clear();
  const auto pair_rank = [&](size_t i) {
    if (i + 2 >= parts.size()) return RankTable::kNoRank;
    return ranks.Find(piece.substr(parts[i].start, parts[i + 2].start - parts[i].start));
  };
  for (size_t i = 0; i <= piece.size(); ++i) parts.push_back({i, RankTable::kNoRank});
  for (size_t i = 0; i + 2 < parts.size(); ++i) parts[i].rank = pair_rank(i);
  while (parts.size() > 2) {
    size_t best = 0;
    uint32_t best_rank = RankTable::kNoRank;
    for (size_t i = 0; i + 2 < parts.size(); ++i) {
      if (parts[i].rank < best_rank) {
        best_rank = parts[i].rank;
        best = i;
      }
    }
    if (best_rank == RankTable::kNoRank) break;
    parts.erase(parts.begin() + best + 1);
    parts[best].rank = pair_rank(best);
    if (best > 0) parts[best - 1].rank = pair_rank(best - 1);
  }
  bounds->clear();
  for (const Part& part : parts) bounds->push_back(part.start);
}

// The same merge with a min-heap of candidate pairs (rank, left, middle,
// right byte offsets); an entry is stale once either of its parts changed.
void MergeByHeap(const RankTable& ranks, std::string_view piece, std::vector<size_t>* bounds) {
  const size_t n = piece.size();
  std::vector<size_t> next(n + 1), prev(n + 1);
  std::vector<bool> alive(n + 1, true);
  for (size_t i = 0; i <= n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? 0 : i - 1;
  }
  struct Candidate {
    uint32_t rank;
    size_t left, middle, right;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto push = [&](size_t left, size_t middle, size_t right) {
    const uint32_t rank = ranks.Find(piece.substr(left, right - left));
    if (rank != RankTable::kNoRank) heap.push({rank, left, middle, right});
  };
  for (size_t i = 0; i + 2 <= n; ++i) push(i, i + 1, i + 2);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (!alive[c.left] || !alive[c.middle] || next[c.left] != c.middle ||
        next[c.middle] != c.right) {
      continue;
    }
    alive[c.middle] = false;
    next[c.left] = c.right;
    if (c.right < n) prev[c.right] = c.left;
    if (c.left > 0) push(prev[c.left], c.left, c.right);
    if (c.right < n) push(c.left, c.right, next[c.right]);
  }
  bounds->clear();
  for (size_t i = 0; i < n; i = next[i]) bounds->push_back(i);
  bounds->push_back(n);
}

}  // namespace

void BpeTokenizer::EncodePiece(std::string_view piece, std::vector<int32_t>* ids) const {
  const uint32_t whole = ranks_.Find(piece);
  if (whole != RankTable::kNoRank) {
    ids->push_back(static_cast<int32_t>(whole));
    return;
  }
  thread_local std::vector<size_t> bounds;
  if (piece.size() > kHeapMergeBytes) {
    MergeByHeap(ranks_, piece, &bounds);
  } else {
    MergeByScan(ranks_, piece, &bounds);
  }
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    ids->push_back(
        static_cast<int32_t>(ranks_.Find(piece.substr(bounds[i], bounds[i + 1] - bounds[i]))));
  }
}

absl::Status BpeTokenizer::EncodeOrdinary(std::string_view text, std::vector<int32_t>* ids) const {
  return pretokenizer_->Split(text, [&](std::string_view piece) { EncodePiece(piece, ids); });
}

size_t BpeTokenizer::FindSpecial(std::string_view text, size_t from, size_t* which) const {
  for (size_t at = text.find("<|", from); at != std::string_view::npos;
       at = text.find("<|", at + 1)) {
    for (size_t k = 0; k < specials_.size(); ++k) {
      if (text.substr(at).starts_with(specials_[k].first)) {
        *which = k;
        return at;
      }
    }
  }
  return std::string_view::npos;
}

absl::Status BpeTokenizer::Encode(std::string_view text, SpecialTokens special,
                                  std::vector<int32_t>* ids) const {
  if (const int64_t bad = FindInvalidUtf8(text); bad >= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte offset ", bad));
  }
  if (special == SpecialTokens::kAsText) return EncodeOrdinary(text, ids);
  size_t start = 0;
  while (true) {
    size_t which = 0;
    const size_t at = FindSpecial(text, start, &which);
    if (at != std::string_view::npos && special == SpecialTokens::kReject) {
      return absl::InvalidArgumentError(
          absl::StrCat("text contains the special token ", specials_[which].first,
                       " at byte offset ", at, " (allow special tokens, or encode them as text)"));
    }
    const size_t end = at == std::string_view::npos ? text.size() : at;
    RETURN_IF_ERROR(EncodeOrdinary(text.substr(start, end - start), ids));
    if (at == std::string_view::npos) return absl::OkStatus();
    ids->push_back(specials_[which].second);
    start = at + specials_[which].first.size();
  }
}

absl::Status BpeTokenizer::Decode(std::span<const int32_t> ids, std::string* text) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id >= 0 && static_cast<size_t>(id) < ranks_.size()) {
      text->append(ranks_.Bytes(static_cast<uint32_t>(id)));
      continue;
    }
    const auto special = std::find_if(specials_.begin(), specials_.end(),
                                      [id](const auto& s) { return s.second == id; });
    if (special == specials_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " at position ", i,
                                                     " is not in the vocabulary of ", name_,
                                                     " (n_vocab ", n_vocab_, ")"));
    }
    text->append(special->first);
  }
  return absl::OkStatus();
}

}  // namespace flopwise::data
