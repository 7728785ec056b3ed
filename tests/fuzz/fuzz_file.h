// Fuzz targets whose parsers read files: the input written to a file of this
// process's own, reused for every input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace flopwise::fuzz {

// A scratch folder of this process (created once, under $TMPDIR or /tmp).
const std::string& ScratchDir();

// Writes `size` bytes to ScratchDir()/name, replacing it; returns the path.
std::string WriteScratchFile(const std::string& name, const uint8_t* data, size_t size);

}  // namespace flopwise::fuzz
