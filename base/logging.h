// Process-wide logging set-up (spdlog). Daemons and tools call InitLogging()
// once from main(); libraries log through spdlog's default logger.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace flopwise {

// Sets the default logger's level from a name (trace, debug, info, warn,
// error, critical, off) and its format: "text" (one line per message) or
// "json" (one JSON object per line: {"time": "2026-12-07T06:00:00.123+00:00",
// "level": "info", "logger": PROGRAM, "message": "..."}, the message escaped
// and invalid UTF-8 replaced). Returns InvalidArgument naming the level or
// format when it is unknown. Logs go to stderr so stdout stays machine-readable.
absl::Status InitLogging(const std::string& program, const std::string& level,
                         const std::string& format = "text");

}  // namespace flopwise
