// Process-wide logging set-up (spdlog). Daemons and tools call InitLogging()
// once from main(); libraries log through spdlog's default logger.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace flopwise {

// Sets the default logger's level from a name (trace, debug, info, warn,
// error, critical, off) and its pattern. Returns InvalidArgument naming the
// level when it is unknown. Logs go to stderr so stdout stays machine-readable.
absl::Status InitLogging(const std::string& program, const std::string& level);

}  // namespace flopwise
