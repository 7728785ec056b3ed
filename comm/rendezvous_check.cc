#include "comm/rendezvous_check.h"

#include <unistd.h>

#include <cstdint>
#include <map>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace flopwise::comm {
namespace {

using Config = std::vector<std::pair<std::string, std::string>>;

std::string KeyOf(int rank) { return absl::StrCat("flopwise/rank/", rank); }

// FNV-1a of the config's entries: short enough to show in an error.
uint64_t ConfigHash(const Config& config) {
  uint64_t hash = 0xCBF29CE484222325ULL;
  auto add = [&hash](std::string_view text) {
    for (const char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001B3ULL;
    }
    hash ^= 0xFF;  // separates entries: ("ab","c") differs from ("a","bc")
    hash *= 0x100000001B3ULL;
  };
  for (const auto& [name, value] : config) {
    add(name);
    add(value);
  }
  return hash;
}

// "world_size\tN\tLAUNCH\n" then one "name\tvalue\n" line per entry, both
// C-escaped (so neither holds a tab or a newline). LAUNCH is random: a folder
// left by an earlier launch already holds another value under this rank's
// key, so its Set fails at once instead of the ranks meeting stale addresses.
std::string Encode(int world_size, const Config& config) {
  std::random_device random;
  const uint64_t launch = (uint64_t{random()} << 32) ^ random() ^ uint64_t(getpid());
  std::string text = absl::StrFormat("world_size\t%d\t%016x\n", world_size, launch);
  for (const auto& [name, value] : config) {
    absl::StrAppend(&text, absl::CEscape(name), "\t", absl::CEscape(value), "\n");
  }
  return text;
}

struct Entry {
  int world_size = 0;
  Config config;
};

absl::StatusOr<Entry> Decode(int rank, const std::string& text) {
  Entry entry;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (first) {
      const std::vector<std::string> parts = absl::StrSplit(line, '\t');
      if (parts.size() != 3 || parts[0] != "world_size" ||
          !absl::SimpleAtoi(parts[1], &entry.world_size)) {
        return absl::InvalidArgumentError(absl::StrCat("rendezvous: rank ", rank, "'s entry ",
                                                       KeyOf(rank), " has no world size"));
      }
      first = false;
      continue;
    }
    const std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("rendezvous: rank ", rank, "'s entry ", KeyOf(rank), " is malformed"));
    }
    std::string name, value;
    if (!absl::CUnescape(parts[0], &name) || !absl::CUnescape(parts[1], &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("rendezvous: rank ", rank, "'s entry ", KeyOf(rank), " is malformed"));
    }
    entry.config.emplace_back(std::move(name), std::move(value));
  }
  if (first) {
    return absl::InvalidArgumentError(
        absl::StrCat("rendezvous: rank ", rank, "'s entry ", KeyOf(rank), " is empty"));
  }
  return entry;
}

// "name theirs vs ours" for every entry that differs or is on one side only.
std::string Differences(const Config& theirs, const Config& ours) {
  std::map<std::string, std::pair<std::string, std::string>> both;
  for (const auto& [name, value] : theirs) both[name].first = value;
  for (const auto& [name, value] : ours) both[name].second = value;
  std::vector<std::string> lines;
  for (const auto& [name, values] : both) {
    if (values.first == values.second) continue;
    lines.push_back(absl::StrCat(name, " ", values.first.empty() ? "(unset)" : values.first, " vs ",
                                 values.second.empty() ? "(unset)" : values.second));
  }
  return absl::StrJoin(lines, ", ");
}

}  // namespace

absl::Status CheckRankArguments(int rank, int world_size, absl::Duration timeout) {
  if (world_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("world size: must be ≥ 1, got ", world_size));
  }
  if (rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank: ", rank, " is not in [0, world size ", world_size, ")"));
  }
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout: must be positive");
  }
  return absl::OkStatus();
}

absl::Status CheckPeersMatch(KeyValueStore& store, int rank, int world_size, const Config& config,
                             absl::Duration timeout) {
  if (absl::Status s = store.Set(KeyOf(rank), Encode(world_size, config)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("rendezvous as rank ", rank, ": ", s.message()));
  }
  const uint64_t our_hash = ConfigHash(config);
  for (int peer = 0; peer < world_size; ++peer) {
    if (peer == rank) continue;
    absl::StatusOr<std::string> text = store.Get(KeyOf(peer), timeout);
    if (absl::IsDeadlineExceeded(text.status())) {
      return absl::DeadlineExceededError(
          absl::StrCat("rendezvous: rank ", peer, " of ", world_size, " did not join within ",
                       absl::FormatDuration(timeout), " (", text.status().message(), ")"));
    }
    if (!text.ok()) return text.status();
    absl::StatusOr<Entry> entry = Decode(peer, *text);
    if (!entry.ok()) return entry.status();
    if (entry->world_size != world_size) {
      return absl::FailedPreconditionError(
          absl::StrCat("rendezvous: world size differs: rank ", peer, " runs with world size ",
                       entry->world_size, ", rank ", rank, " (this process) with ", world_size));
    }
    const uint64_t their_hash = ConfigHash(entry->config);
    if (their_hash != our_hash || entry->config != config) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "rendezvous: run config differs between rank %d (hash %016x) and rank %d, this process "
          "(hash %016x): %s; start every rank with the same settings",
          peer, their_hash, rank, our_hash, Differences(entry->config, config)));
    }
  }
  return absl::OkStatus();
}

}  // namespace flopwise::comm
