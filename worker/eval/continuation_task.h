// The bundled multiple-choice task (docs/evaluation.md, "brown-continuation"):
// given one or two sentences of a document, pick the sentence that follows
// among that sentence and sentences drawn from other documents. Built from
// text with one sentence per line (the Brown corpus as `flopwise data`
// detokenises it), deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/data/corpus.h"
#include "worker/eval/multiple_choice.h"

namespace flopwise::eval {

struct ContinuationTaskOptions {
  int documents = 200;       // task documents to build (fewer if the corpus runs out)
  int choices = 4;           // the true continuation and choices - 1 others
  uint64_t seed = 1;         // same corpus and seed: same task
  int min_characters = 20;   // sentences outside [min, max] characters are not used
  int max_characters = 200;  //
};

// Builds the task from `corpus` (sentences are its documents' lines).
// InvalidArgument when fewer than two documents have usable sentences.
absl::StatusOr<std::vector<McDocument>> MakeContinuationTask(
    const std::vector<data::Document>& corpus, const ContinuationTaskOptions& options);

// The task built from the Brown corpus's validation split (the documents
// `flopwise data prepare` holds out at its default --validation-fraction 0.05),
// so a model trained on Brown's train split has not seen them.
absl::StatusOr<std::vector<McDocument>> MakeBrownContinuationTask(
    const ContinuationTaskOptions& options);

}  // namespace flopwise::eval
