// Inputs found by the fuzz targets (tests/fuzz), read from
// tests/fuzz/cases/<target>/<name> with the bytes the fuzzer fed.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "worker/data/token_stream.h"
#include "worker/train/safetensors.h"

namespace {
namespace fs = std::filesystem;

std::string CasePath(const std::string& target, const std::string& name) {
  return (fs::path(FLOPWISE_FUZZ_CASES) / target / name).string();
}

std::string ReadCase(const std::string& target, const std::string& name) {
  std::ifstream in(CasePath(target, name), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// A shape of 2^32 x 2^32 x 4 over no data: its element count overflowed int64
// (undefined behaviour) and wrapped to the 0 bytes declared.
TEST(FuzzCases, SafetensorsShapeLargerThanTheFile) {
  auto file = flopwise::train::SafetensorsFile::Read(CasePath("safetensors", "shape_overflow"));
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(file.status())) << file.status();
  EXPECT_NE(file.status().message().find("has a shape larger than the file"), std::string::npos)
      << file.status();
}

// A manifest whose train split is "." (the fuzz input's first byte picks the
// manifest mode): the reader recursed until the path grew too long.
TEST(FuzzCases, TokenStreamSplitNamingItsOwnFolder) {
  const std::string input = ReadCase("token_stream", "split_names_itself");
  ASSERT_FALSE(input.empty());
  const fs::path dir = fs::path(::testing::TempDir()) / "fuzz_split_names_itself";
  fs::create_directories(dir);
  std::ofstream(dir / "manifest.json", std::ios::binary) << input.substr(1);
  flopwise::data::StreamOptions options;
  options.sequence_length = 4;
  auto stream = flopwise::data::TokenStream::Open(dir.string(), options);
  ASSERT_FALSE(stream.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(stream.status())) << stream.status();
  EXPECT_NE(stream.status().message().find("a split holds splits"), std::string::npos)
      << stream.status();
}

}  // namespace
