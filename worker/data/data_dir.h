// Where flopwise finds generated data files (tokenizer ranks, the npm corpora):
// $FLOPWISE_DATA_DIR when set, otherwise the first `.deps` folder found walking
// up from the running executable (build*/bin/flopwise -> <checkout>/.deps),
// otherwise PREFIX/share/flopwise beside an installed PREFIX/bin/flopwise.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace flopwise::data {

// Returns the data folder. NotFound (naming what to run) when none exists.
absl::StatusOr<std::string> DataDir();

// Returns DataDir()/relative_path when that file or folder exists; otherwise
// NotFound naming the path looked for and `remedy` (e.g. the script to run).
absl::StatusOr<std::string> FindDataFile(const std::string& relative_path,
                                         const std::string& remedy);

}  // namespace flopwise::data
