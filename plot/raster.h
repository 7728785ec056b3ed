// SVG to PNG through librsvg and cairo.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace flopwise::plot {

// Rasterises `svg` at its intrinsic size times `scale` on a white background
// and writes a PNG to `path`. InvalidArgument when librsvg cannot parse the
// SVG (the message carries librsvg's), Internal when the PNG cannot be written.
absl::Status WritePng(const std::string& svg, const std::string& path, double scale = 1.0);

}  // namespace flopwise::plot
