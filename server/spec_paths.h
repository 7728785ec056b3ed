// Paths in a sweep spec (docs/api.md, "Paths"): `data.path` and the `.jsonl`
// task files of `evaluation.tasks`. A relative one is resolved against the
// folder the spec was submitted from (SubmitSweepRequest.base_dir, which
// `flopwise submit` fills with its working directory, as sbatch does), so run
// plans and workers only ever see absolute paths.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace flopwise::server {

// `path` when it is absolute; else `base_dir`/`path`, lexically normalized
// (`./` and `..` folded). `base_dir` is absolute or empty. InvalidArgument,
// for the caller to prefix with the field, when `path` is relative and
// `base_dir` is empty (`"data/brown/train" is relative; ...`), or when it
// starts with `~` (no shell expands it).
absl::StatusOr<std::string> ResolveSpecPath(std::string_view path, std::string_view base_dir);

}  // namespace flopwise::server
