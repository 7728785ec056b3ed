// Fuzzes the safetensors reader: the input is a whole file. Every tensor the
// reader accepts is also converted to floats, which reads its byte range (the
// reader checks that it matches the shape, so the size stays bounded).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_file.h"
#include "worker/train/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = flopwise::fuzz::WriteScratchFile("input.safetensors", data, size);
  auto file = flopwise::train::SafetensorsFile::Read(path);
  if (!file.ok()) return 0;
  std::vector<float> values;
  for (const auto& [name, entry] : file->entries()) {
    (void)file->ReadFloats(name, &values);
  }
  return 0;
}
