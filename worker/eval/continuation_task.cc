#include "worker/eval/continuation_task.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_split.h"
#include "models/rng.h"

namespace flopwise::eval {
namespace {

// The validation fraction of `flopwise data prepare` (docs/data.md, "Split").
constexpr double kBrownValidationFraction = 0.05;
// Draws per wanted document before giving up on a small corpus.
constexpr int kAttemptsPerDocument = 50;

// Each document's lines within the length bounds, in order; -1 marks a line
// outside them (so neighbours stay neighbours).
struct SentenceTable {
  std::vector<std::vector<std::string>> lines;  // [document][line]
  std::vector<std::vector<int>> usable;         // [document]: indices of usable lines
};

SentenceTable BuildTable(const std::vector<data::Document>& corpus,
                         const ContinuationTaskOptions& o) {
  SentenceTable table;
  for (const data::Document& doc : corpus) {
    std::vector<std::string> lines = absl::StrSplit(doc.text, '\n');
    std::vector<int> usable;
    for (size_t i = 0; i < lines.size(); ++i) {
      const int64_t n = CharacterCount(lines[i]);
      if (n >= o.min_characters && n <= o.max_characters) usable.push_back(static_cast<int>(i));
    }
    table.lines.push_back(std::move(lines));
    table.usable.push_back(std::move(usable));
  }
  return table;
}

bool Usable(const SentenceTable& t, int doc, int line) {
  if (line < 0) return false;
  const std::vector<int>& u = t.usable[doc];
  return std::binary_search(u.begin(), u.end(), line);
}

int Pick(models::Rng* rng, size_t n) { return static_cast<int>(rng->NextU64() % n); }

}  // namespace

absl::StatusOr<std::vector<McDocument>> MakeContinuationTask(
    const std::vector<data::Document>& corpus, const ContinuationTaskOptions& o) {
  if (o.choices < 2) return absl::InvalidArgumentError("choices: must be at least 2");
  const SentenceTable table = BuildTable(corpus, o);
  std::vector<int> sources;  // documents with a usable sentence after a usable one
  std::vector<int> donors;   // documents with any usable sentence
  for (size_t d = 0; d < corpus.size(); ++d) {
    if (!table.usable[d].empty()) donors.push_back(static_cast<int>(d));
    for (int line : table.usable[d]) {
      if (Usable(table, static_cast<int>(d), line - 1)) {
        sources.push_back(static_cast<int>(d));
        break;
      }
    }
  }
  if (sources.empty() || donors.size() < 2) {
    return absl::InvalidArgumentError(
        "the corpus has too few usable sentences for a continuation task (needs two documents)");
  }
  models::Rng rng(o.seed);
  std::set<std::pair<int, int>> taken;
  std::vector<McDocument> task;
  for (int attempt = 0;
       attempt < o.documents * kAttemptsPerDocument && static_cast<int>(task.size()) < o.documents;
       ++attempt) {
    const int d = sources[Pick(&rng, sources.size())];
    const int line = table.usable[d][Pick(&rng, table.usable[d].size())];
    if (!Usable(table, d, line - 1) || !taken.insert({d, line}).second) continue;
    McDocument doc;
    doc.context = table.lines[d][line - 1];
    if (Usable(table, d, line - 2)) doc.context = table.lines[d][line - 2] + " " + doc.context;
    std::vector<std::string> others;
    while (static_cast<int>(others.size()) < o.choices - 1) {
      const int other = donors[Pick(&rng, donors.size())];
      if (other == d) continue;
      others.push_back(
          table.lines[other][table.usable[other][Pick(&rng, table.usable[other].size())]]);
    }
    doc.gold = Pick(&rng, o.choices);
    doc.choices = std::move(others);
    doc.choices.insert(doc.choices.begin() + doc.gold, table.lines[d][line]);
    task.push_back(std::move(doc));
  }
  return task;
}

absl::StatusOr<std::vector<McDocument>> MakeBrownContinuationTask(
    const ContinuationTaskOptions& options) {
  auto reader = data::DocumentReader::Open({"brown"}, data::CorpusOptions());
  if (!reader.ok()) return reader.status();
  std::vector<data::Document> corpus;
  data::Document doc;
  while (true) {
    auto more = (*reader)->Next(&doc);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (data::InValidationSplit(doc.id, kBrownValidationFraction)) corpus.push_back(doc);
  }
  return MakeContinuationTask(corpus, options);
}

}  // namespace flopwise::eval
