#include "tests/fuzz/fuzz_file.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace flopwise::fuzz {
namespace fs = std::filesystem;

const std::string& ScratchDir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path path = fs::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") /
                    ("flopwise-fuzz-" + std::to_string(getpid()));
    fs::create_directories(path);
    return new std::string(path.string());
  }();
  return *dir;
}

std::string WriteScratchFile(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = (fs::path(ScratchDir()) / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace flopwise::fuzz
