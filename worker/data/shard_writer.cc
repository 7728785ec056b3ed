#include "worker/data/shard_writer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "worker/data/shard_format.h"

namespace flopwise::data {
namespace fs = std::filesystem;
namespace {

absl::Status IoError(const std::string& path, const char* what) {
  return absl::InternalError(absl::StrCat(path, ": ", what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardWriter>> ShardWriter::Create(
    const ShardWriterOptions& options) {
  if (options.vocab_size <= 0 || options.vocab_size > (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocab_size: ", options.vocab_size, " is not in [1, 2^31]"));
  }
  if (options.shard_tokens <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard_tokens: ", options.shard_tokens, " must be positive"));
  }
  if (options.tokenizer.size() >= kShardTokenizerNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer: name longer than ", kShardTokenizerNameBytes - 1, " bytes"));
  }
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(options.dir, ": ", ec.message()));
  auto writer = std::unique_ptr<ShardWriter>(new ShardWriter(options));
  writer->summary_.split = options.split;
  return writer;
}

ShardWriter::~ShardWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

absl::Status ShardWriter::OpenShard() {
  const std::string name = absl::StrFormat("shard-%06d.tok", summary_.shard_files.size());
  final_path_ = (fs::path(options_.dir) / name).string();
  temp_path_ = final_path_ + ".partial";
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr) return IoError(temp_path_, "cannot create");
  const std::string placeholder(kShardHeaderBytes, '\0');
  if (std::fwrite(placeholder.data(), 1, placeholder.size(), file_) != placeholder.size()) {
    return IoError(temp_path_, "write failed");
  }
  summary_.shard_files.push_back(name);
  document_starts_.clear();
  tokens_in_shard_ = 0;
  return absl::OkStatus();
}

absl::Status ShardWriter::AddDocument(std::span<const int32_t> ids) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= options_.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", ids[i], " at position ", i, " of document ", summary_.documents,
                       " is outside the vocabulary [0, ", options_.vocab_size, ")"));
    }
  }
  if (file_ == nullptr) RETURN_IF_ERROR(OpenShard());
  const uint32_t width = TokenWidthFor(options_.vocab_size);
  buffer_.resize(ids.size() * width);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (width == 2) {
      const uint16_t v = static_cast<uint16_t>(ids[i]);
      std::memcpy(buffer_.data() + 2 * i, &v, 2);
    } else {
      const uint32_t v = static_cast<uint32_t>(ids[i]);
      std::memcpy(buffer_.data() + 4 * i, &v, 4);
    }
  }
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    return IoError(temp_path_, "write failed");
  }
  document_starts_.push_back(tokens_in_shard_);
  tokens_in_shard_ += ids.size();
  summary_.tokens += static_cast<int64_t>(ids.size());
  summary_.documents += 1;
  if (tokens_in_shard_ >= static_cast<uint64_t>(options_.shard_tokens)) {
    RETURN_IF_ERROR(CloseShard());
  }
  return absl::OkStatus();
}

absl::Status ShardWriter::CloseShard() {
  ShardHeader header;
  header.token_width = TokenWidthFor(options_.vocab_size);
  header.token_count = tokens_in_shard_;
  header.document_count = document_starts_.size();
  header.vocab_size = static_cast<uint64_t>(options_.vocab_size);
  header.eot_id = options_.eot_id;
  header.tokenizer = options_.tokenizer;
  const uint64_t tokens_end = kShardHeaderBytes + tokens_in_shard_ * header.token_width;
  const std::string padding(header.documents_offset() - tokens_end, '\0');
  document_starts_.push_back(tokens_in_shard_);
  const std::string encoded = EncodeShardHeader(header);
  const bool ok = std::fwrite(padding.data(), 1, padding.size(), file_) == padding.size() &&
                  std::fwrite(document_starts_.data(), 8, document_starts_.size(), file_) ==
                      document_starts_.size() &&
                  std::fseek(file_, 0, SEEK_SET) == 0 &&
                  std::fwrite(encoded.data(), 1, encoded.size(), file_) == encoded.size();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) return IoError(temp_path_, "write failed");
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return IoError(final_path_, "rename failed");
  }
  shard_tokens_.push_back(static_cast<int64_t>(tokens_in_shard_));
  shard_documents_.push_back(static_cast<int64_t>(header.document_count));
  return absl::OkStatus();
}

absl::StatusOr<SplitSummary> ShardWriter::Finish() {
  if (file_ != nullptr) RETURN_IF_ERROR(CloseShard());
  nlohmann::json manifest = {
      {"format", "flopwise-tokens"},       {"version", 1},
      {"split", options_.split},           {"tokenizer", options_.tokenizer},
      {"vocab_size", options_.vocab_size}, {"n_vocab", options_.n_vocab},
      {"eot_id", options_.eot_id},         {"token_width", TokenWidthFor(options_.vocab_size)},
      {"documents", summary_.documents},   {"tokens", summary_.tokens},
      {"shards", nlohmann::json::array()},
  };
  for (size_t i = 0; i < summary_.shard_files.size(); ++i) {
    manifest["shards"].push_back({{"file", summary_.shard_files[i]},
                                  {"tokens", shard_tokens_[i]},
                                  {"documents", shard_documents_[i]}});
  }
  const std::string path = (fs::path(options_.dir) / "manifest.json").string();
  std::ofstream out(path);
  out << manifest.dump(2) << "\n";
  if (!out) return IoError(path, "write failed");
  return summary_;
}

}  // namespace flopwise::data
