#include "comm/file_key_value_store.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace flopwise::comm {
namespace {

namespace fs = std::filesystem;

// How often Get looks for a key that is not there yet.
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

// The file's bytes, or nullopt when it does not exist (or cannot be read yet).
std::optional<std::string> ReadValue(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileKeyValueStore>> FileKeyValueStore::Open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("rendezvous folder ", dir,
                                                   ": cannot create it (",
                                                   ec ? ec.message() : "not a folder", ")"));
  }
  return std::unique_ptr<FileKeyValueStore>(new FileKeyValueStore(dir));
}

std::string FileKeyValueStore::PathOf(const std::string& key) const {
  std::string name;
  for (const char c : key) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-';
    if (plain) {
      name += c;
    } else {
      absl::StrAppendFormat(&name, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return absl::StrCat(dir_, "/", name.empty() ? "%" : name);
}

absl::Status FileKeyValueStore::Set(const std::string& key, const std::string& value) {
  static std::atomic<uint64_t> counter{0};
  const std::string path = PathOf(key);
  const std::string temporary = absl::StrCat(dir_, "/.tmp-", getpid(), "-", counter++);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(value.data(), static_cast<std::streamsize>(value.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      return absl::UnavailableError(
          absl::StrCat("rendezvous key '", key, "': cannot write ", temporary));
    }
  }
  // link() never replaces an existing file: the first value set stays.
  const int linked = link(temporary.c_str(), path.c_str());
  const int link_errno = errno;
  std::error_code ignored;
  fs::remove(temporary, ignored);
  if (linked == 0) return absl::OkStatus();
  if (link_errno != EEXIST) {
    return absl::UnavailableError(absl::StrCat("rendezvous key '", key, "': cannot create ", path,
                                               ": ", strerror(link_errno)));
  }
  const std::optional<std::string> existing = ReadValue(path);
  if (existing == value) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "rendezvous key '", key, "' in ", dir_,
      " already holds another value (a second process with the same rank, or a folder left by an "
      "earlier launch: give every launch an empty rendezvous folder)"));
}

absl::StatusOr<std::string> FileKeyValueStore::Get(const std::string& key, absl::Duration timeout) {
  const std::string path = PathOf(key);
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<std::string> value = ReadValue(path)) return *std::move(value);
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("rendezvous key '", key, "' not set in ",
                                                      dir_, " within ",
                                                      absl::FormatDuration(timeout)));
    }
    absl::SleepFor(kPollInterval);
  }
}

}  // namespace flopwise::comm
