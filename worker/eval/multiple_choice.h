// Zero-shot multiple-choice tasks in lm-evaluation-harness's document
// convention (docs/evaluation.md, "multiple choice"): each document has a
// context (`query`, or `context`), its `choices` and the `gold` index. Every
// choice is scored by the log-likelihood of " " + choice after the context;
// acc picks the highest log-likelihood, acc_norm the highest log-likelihood
// per character of the choice (the harness's `completion_len`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "worker/data/tokenizer.h"
#include "worker/eval/language_model.h"

namespace flopwise::eval {

struct McDocument {
  std::string context;
  std::vector<std::string> choices;  // at least two
  int gold = 0;                      // index into choices
};

struct McResult {
  std::string task;  // the task file's name without its folder and extension
  int64_t documents = 0;
  double acc = 0.0;       // fraction of documents
  double acc_norm = 0.0;  // fraction of documents
};

// Reads one document per line of a JSONL file: {"query" or "context": str,
// "choices": [str, ...], "gold": int}. Errors name the path (and the line):
// NotFound for a missing file, InvalidArgument for a bad line or an empty file.
absl::StatusOr<std::vector<McDocument>> ReadMcTaskFile(const std::string& path);

// Writes documents in the format ReadMcTaskFile reads ("query" for the context).
absl::Status WriteMcTaskFile(const std::vector<McDocument>& documents, const std::string& path);

// Index of the largest value, the first one on ties (numpy's argmax).
int ArgMax(const std::vector<double>& values);

// 1 when the choice with the highest log-likelihood is `gold`, else 0.
double AccOf(const std::vector<double>& loglikelihoods, int gold);

// 1 when the choice with the highest log-likelihood per character (Unicode
// code points of the choice, without the leading space) is `gold`, else 0.
double AccNormOf(const std::vector<double>& loglikelihoods, const std::vector<std::string>& choices,
                 int gold);

// Unicode code points of a UTF-8 string (Python's len of the decoded str).
int64_t CharacterCount(const std::string& utf8);

// Scores every document with `model`: the context is tokenised with a leading
// end-of-text id (a document start, as in training), and each choice as the
// harness does (the ids of context + " " + choice after the context's ids).
absl::StatusOr<McResult> ScoreMultipleChoice(const std::string& task,
                                             const std::vector<McDocument>& documents,
                                             const data::Tokenizer& tokenizer,
                                             LanguageModel* model);

}  // namespace flopwise::eval
