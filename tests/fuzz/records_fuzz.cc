// Fuzzes the CSV / JSON Lines reader of `flopwise fit`'s records.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fitting/records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)flopwise::fitting::ParseRecords(text, "fuzz");
  return 0;
}
