// Fuzzes ParseSweepSpec with arbitrary YAML text: it must return a status,
// never crash, whatever the document.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/sweep_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)flopwise::server::ParseSweepSpec(text, "/fuzz");
  return 0;
}
