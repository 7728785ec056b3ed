// The generated API code links and its enums keep their wire values (a
// renumbering would silently corrupt stored and in-flight messages).
#include <gtest/gtest.h>

#include "flopwise/v1/types.pb.h"

namespace flopwise {
namespace {

TEST(ProtoTypes, EnumWireValuesAreStable) {
  EXPECT_EQ(v1::ARCHITECTURE_LLAMA, 1);
  EXPECT_EQ(v1::ARCHITECTURE_COS2, 4);
  EXPECT_EQ(v1::RUN_STATE_DIVERGED, 5);
  EXPECT_EQ(v1::RunState_Name(v1::RUN_STATE_SUCCEEDED), "RUN_STATE_SUCCEEDED");
}

}  // namespace
}  // namespace flopwise
