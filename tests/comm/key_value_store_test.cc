// The rendezvous key-value stores: the file store and the --rendezvous URI.
#include <gtest/gtest.h>

#include <thread>

#include "comm/file_key_value_store.h"
#include "comm/open_key_value_store.h"
#include "tests/comm/comm_test_util.h"

namespace flopwise::comm {
namespace {

TEST(FileKeyValueStore, SetThenGetAnyKey) {
  auto store = FileKeyValueStore::Open(MakeTempDir("kv") + "/rendezvous");
  ASSERT_TRUE(store.ok()) << store.status();
  for (const std::string key : {"plain", "gloo/0", "a b%c.d", ""}) {
    const std::string value = "value of " + key + std::string("\0\n\t", 3);
    ASSERT_TRUE((*store)->Set(key, value).ok()) << key;
    auto got = (*store)->Get(key, absl::ZeroDuration());
    ASSERT_TRUE(got.ok()) << key << ": " << got.status();
    EXPECT_EQ(*got, value);
  }
  // "a/b" and "a%2Fb" are different keys.
  ASSERT_TRUE((*store)->Set("x/y", "1").ok());
  ASSERT_TRUE((*store)->Set("x%2Fy", "2").ok());
  EXPECT_EQ(*(*store)->Get("x/y", absl::ZeroDuration()), "1");
  EXPECT_EQ(*(*store)->Get("x%2Fy", absl::ZeroDuration()), "2");
}

TEST(FileKeyValueStore, SettingAgainIsOkOnlyWithTheSameValue) {
  auto store = FileKeyValueStore::Open(MakeTempDir("kv-again"));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Set("k", "v").ok());
  EXPECT_TRUE((*store)->Set("k", "v").ok());
  const absl::Status other = (*store)->Set("k", "w");
  EXPECT_TRUE(absl::IsFailedPrecondition(other)) << other;
  EXPECT_NE(other.message().find("'k'"), std::string::npos) << other;
  EXPECT_EQ(*(*store)->Get("k", absl::ZeroDuration()), "v");  // the first value stays
}

TEST(FileKeyValueStore, GetTimesOutNamingTheKey) {
  auto store = FileKeyValueStore::Open(MakeTempDir("kv-timeout"));
  ASSERT_TRUE(store.ok());
  auto got = (*store)->Get("rank/1", absl::Milliseconds(50));
  EXPECT_TRUE(absl::IsDeadlineExceeded(got.status())) << got.status();
  EXPECT_NE(got.status().message().find("'rank/1'"), std::string::npos) << got.status();
}

TEST(FileKeyValueStore, GetWaitsForAKeyAnotherStoreSets) {
  const std::string dir = MakeTempDir("kv-wait");
  auto reader = FileKeyValueStore::Open(dir);
  auto writer = FileKeyValueStore::Open(dir);
  ASSERT_TRUE(reader.ok() && writer.ok());
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE((*writer)->Set("late", "here").ok());
  });
  auto got = (*reader)->Get("late", absl::Seconds(30));
  later.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "here");
}

TEST(OpenKeyValueStore, FileUriOpensAFolderStore) {
  const std::string dir = MakeTempDir("kv-uri") + "/new";
  auto store = OpenKeyValueStore("file:" + dir);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Set("k", "v").ok());
  EXPECT_TRUE(std::filesystem::exists(dir + "/k"));
}

TEST(OpenKeyValueStore, AnythingElseNamesTheFlag) {
  for (const char* uri : {"grpc://127.0.0.1:1", "/tmp/dir", "file:", ""}) {
    auto store = OpenKeyValueStore(uri);
    EXPECT_TRUE(absl::IsInvalidArgument(store.status())) << uri;
    EXPECT_EQ(store.status().message().rfind("--rendezvous: ", 0), 0u) << store.status();
  }
}

}  // namespace
}  // namespace flopwise::comm
