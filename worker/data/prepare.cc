#include "worker/data/prepare.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace flopwise::data {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kBatchTextBytes = 8 << 20;
constexpr size_t kBatchDocuments = 4096;

// Encodes every document of `batch` with `threads` threads; ids[i] receives
// document i's ids. Returns the first failure, naming its document.
absl::Status EncodeBatch(const Tokenizer& tokenizer, SpecialTokens special,
                         const std::vector<Document>& batch, int threads,
                         std::vector<std::vector<int32_t>>* ids) {
  ids->assign(batch.size(), {});
  std::vector<absl::Status> statuses(batch.size());
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i = next++; i < batch.size(); i = next++) {
      statuses[i] = tokenizer.Encode(batch[i].text, special, &(*ids)[i]);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!statuses[i].ok()) {
      return absl::InvalidArgumentError(absl::StrCat(batch[i].id, ": ", statuses[i].message()));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteDatasetManifest(const PrepareOptions& options, const Tokenizer& tokenizer,
                                  const PrepareSummary& summary) {
  const nlohmann::json manifest = {
      {"format", "flopwise-dataset"},
      {"version", 1},
      {"tokenizer", tokenizer.name()},
      {"vocab_size", tokenizer.padded_vocab()},
      {"n_vocab", tokenizer.n_vocab()},
      {"eot_id", tokenizer.eot_id()},
      {"inputs", options.inputs},
      {"validation_fraction", options.validation_fraction},
      {"text_bytes", summary.text_bytes},
      {"splits", {{"train", "train"}, {"validation", "validation"}}},
      {"documents",
       {{"train", summary.train.documents}, {"validation", summary.validation.documents}}},
      {"tokens", {{"train", summary.train.tokens}, {"validation", summary.validation.tokens}}},
  };
  const std::string path = (fs::path(options.out_dir) / "manifest.json").string();
  std::ofstream out(path);
  out << manifest.dump(2) << "\n";
  if (!out) return absl::InternalError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PrepareSummary> PrepareDataset(const PrepareOptions& options) {
  if (options.out_dir.empty()) return absl::InvalidArgumentError("out: no output folder given");
  if (!(options.validation_fraction >= 0 && options.validation_fraction < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("validation_fraction: ", options.validation_fraction, " is not in [0, 1)"));
  }
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::Load(options.tokenizer));
  ASSIGN_OR_RETURN(std::unique_ptr<DocumentReader> reader,
                   DocumentReader::Open(options.inputs, options.corpus));
  ShardWriterOptions writer_options;
  writer_options.tokenizer = tokenizer->name();
  writer_options.vocab_size = tokenizer->padded_vocab();
  writer_options.n_vocab = tokenizer->n_vocab();
  writer_options.eot_id = tokenizer->eot_id();
  writer_options.shard_tokens = options.shard_tokens;
  writer_options.dir = (fs::path(options.out_dir) / "train").string();
  writer_options.split = "train";
  ASSIGN_OR_RETURN(std::unique_ptr<ShardWriter> train, ShardWriter::Create(writer_options));
  writer_options.dir = (fs::path(options.out_dir) / "validation").string();
  writer_options.split = "validation";
  ASSIGN_OR_RETURN(std::unique_ptr<ShardWriter> validation, ShardWriter::Create(writer_options));

  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  PrepareSummary summary;
  PrepareProgress progress;
  progress.total_bytes = reader->total_bytes();
  std::vector<Document> batch;
  std::vector<std::vector<int32_t>> ids;
  bool more = true;
  while (more) {
    batch.clear();
    uint64_t batch_bytes = 0;
    while (batch_bytes < kBatchTextBytes && batch.size() < kBatchDocuments) {
      Document doc;
      ASSIGN_OR_RETURN(more, reader->Next(&doc));
      if (!more) break;
      batch_bytes += doc.text.size();
      batch.push_back(std::move(doc));
    }
    RETURN_IF_ERROR(EncodeBatch(*tokenizer, options.special, batch, threads, &ids));
    for (size_t i = 0; i < batch.size(); ++i) {
      ShardWriter& writer =
          InValidationSplit(batch[i].id, options.validation_fraction) ? *validation : *train;
      RETURN_IF_ERROR(writer.AddDocument(ids[i]));
      progress.tokens += static_cast<int64_t>(ids[i].size());
    }
    summary.text_bytes += batch_bytes;
    progress.documents += static_cast<int64_t>(batch.size());
    progress.bytes_read = reader->bytes_read();
    progress.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (options.on_progress) options.on_progress(progress);
  }
  if (progress.documents == 0 || progress.tokens == 0) {
    return absl::InvalidArgumentError("input: no text to encode (every input is empty)");
  }
  ASSIGN_OR_RETURN(summary.train, train->Finish());
  ASSIGN_OR_RETURN(summary.validation, validation->Finish());
  summary.tokenizer = tokenizer->name();
  summary.vocab_size = tokenizer->padded_vocab();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RETURN_IF_ERROR(WriteDatasetManifest(options, *tokenizer, summary));
  return summary;
}

}  // namespace flopwise::data
