// UTF-8 validation (base/utf8.h): the sequences Unicode calls ill-formed.
#include "base/utf8.h"

#include <gtest/gtest.h>

namespace flopwise {
namespace {

TEST(Utf8, FindsAndReplacesInvalidSequences) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii text, long enough for the fast path"), -1);
  EXPECT_EQ(FindInvalidUtf8("ok \xC3\xA9 \xF0\x9F\x8E\x89"), -1);
  EXPECT_EQ(FindInvalidUtf8("12345678\xC0\xAF"), 8);     // overlong
  EXPECT_EQ(FindInvalidUtf8("ab\xED\xA0\x80"), 2);       // surrogate
  EXPECT_EQ(FindInvalidUtf8("abc\xF4\x90\x80\x80"), 3);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("truncated \xE2\x82"), 10);
  EXPECT_EQ(ReplaceInvalidUtf8("a\xff\xfe"
                               "b\xC3"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

}  // namespace
}  // namespace flopwise
