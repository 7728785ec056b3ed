// The fallback raw token-file reader.
#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "tests/train/train_test_util.h"
#include "worker/train/token_source.h"

namespace flopwise::train {
namespace {

TEST(RawTokenFile, ReadsOverlappingWindowsSeeksAndWraps) {
  const std::string dir = MakeTempDir("raw");
  std::vector<uint16_t> ids = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::ofstream(dir + "/t.u16", std::ios::binary)
      .write(reinterpret_cast<const char*>(ids.data()), ids.size() * 2);
  auto source = OpenRawTokenFile(dir + "/t.u16", 3);
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<int32_t> seq(4);
  ASSERT_TRUE((*source)->Next(seq).ok());
  EXPECT_EQ(seq, (std::vector<int32_t>{0, 1, 2, 3}));
  const uint64_t position = (*source)->position();
  ASSERT_TRUE((*source)->Next(seq).ok());
  EXPECT_EQ(seq, (std::vector<int32_t>{3, 4, 5, 6}));
  ASSERT_TRUE((*source)->Next(seq).ok());
  EXPECT_EQ(seq, (std::vector<int32_t>{6, 7, 8, 9}));
  ASSERT_TRUE((*source)->Next(seq).ok());  // wraps
  EXPECT_EQ(seq, (std::vector<int32_t>{0, 1, 2, 3}));
  ASSERT_TRUE((*source)->Seek(position).ok());
  ASSERT_TRUE((*source)->Next(seq).ok());
  EXPECT_EQ(seq, (std::vector<int32_t>{3, 4, 5, 6}));
  std::vector<int32_t> wrong(3);
  EXPECT_FALSE((*source)->Next(wrong).ok());
}

TEST(RawTokenFile, RejectsTruncatedShortAndMissingFiles) {
  const std::string dir = MakeTempDir("raw-bad");
  std::ofstream(dir + "/odd.u32", std::ios::binary).write("abcdef", 6);
  auto odd = OpenRawTokenFile(dir + "/odd.u32", 1);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("not a multiple of 4"), std::string_view::npos);
  std::ofstream(dir + "/short.u32", std::ios::binary).write("abcdefgh", 8);
  EXPECT_TRUE(absl::IsFailedPrecondition(OpenRawTokenFile(dir + "/short.u32", 4).status()));
  EXPECT_TRUE(absl::IsNotFound(OpenRawTokenFile(dir + "/none.u32", 4).status()));
}

}  // namespace
}  // namespace flopwise::train
