// TFRecord framing and the event-file writer: CRC-32C against published check
// values, a record's byte layout, and files that the independent reader
// (tests/client/read_tfevents.py) reads back value for value, and rejects
// once a byte of them is changed.
#include "client/tfrecord.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "client/event_file.h"
#include "tests/client/tfevents_oracle.h"

namespace flopwise::client {
namespace {

namespace fs = std::filesystem;

// Little-endian uint32 at `offset` of `bytes`.
uint32_t U32At(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

TEST(TfRecordTest, Crc32cHasTheCheckValuesOfRfc3720) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(TfRecordTest, MaskedCrcRotatesAndAddsTheConstant) {
  // ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xa282ead8, modulo 2^32.
  EXPECT_EQ(MaskedCrc32c("123456789"), 0xC78AB0E5u);
}

TEST(TfRecordTest, ARecordIsLengthCrcDataCrc) {
  const std::string record = TfRecord("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(U32At(record, 8), MaskedCrc32c(record.substr(0, 8)));
  EXPECT_EQ(record.substr(12, 3), "abc");
  EXPECT_EQ(U32At(record, 15), 0x21F1576Eu);  // masked crc32c("abc") = 0x364B3FB7
}

class EventFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = testing::OracleMissing();
    if (!missing.empty()) GTEST_SKIP() << missing;
    dir_ = fs::temp_directory_path() /
           ("flopwise-event-file-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs" / "run-a");
    path_ = dir_ / "logs" / "run-a" / "events.out.tfevents.1700000000.host";
    // Two writers, as an export that reaches the run again in a later listing.
    auto first = EventFileWriter::Open(path_, 1700000000.5);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE(first->Add(1, 1700000001, {{"train/loss", 5.25}, {"train/lr", 0.0}}).ok());
    ASSERT_TRUE(first->Add(2, 1700000002, {{"train/loss", 4.75}}).ok());
    ASSERT_TRUE(first->Close().ok());
    auto second = EventFileWriter::Open(path_, 1700000003);
    ASSERT_TRUE(second.ok()) << second.status();
    ASSERT_TRUE(second->Add(2, 1700000003, {{"validation/loss", 4.5}}).ok());
    ASSERT_TRUE(second->Close().ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The file with the byte at `offset` changed.
  void Corrupt(size_t offset) {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(offset);
    const char byte = static_cast<char>(file.get());
    file.seekp(offset);
    file.put(static_cast<char>(byte ^ 0x01));
  }

  fs::path dir_;
  fs::path path_;
};

TEST_F(EventFileTest, TheIndependentReaderReadsEveryScalarBack) {
  const testing::OracleResult read = testing::ReadWithOracle(dir_ / "logs", dir_);
  ASSERT_EQ(read.exit_code, 0) << read.errors;
  ASSERT_EQ(read.events.size(), 4u);  // the reopened file has no second version record
  const std::string tags[] = {"train/loss", "train/lr", "train/loss", "validation/loss"};
  const int64_t steps[] = {1, 1, 2, 2};
  const double values[] = {5.25, 0.0, 4.75, 4.5};  // exact in a float
  const double wall_times[] = {1700000001, 1700000001, 1700000002, 1700000003};
  for (size_t i = 0; i < read.events.size(); ++i) {
    EXPECT_EQ(read.events[i].run, "run-a");
    EXPECT_EQ(read.events[i].tag, tags[i]);
    EXPECT_EQ(read.events[i].step, steps[i]);
    EXPECT_EQ(read.events[i].value, values[i]) << tags[i];
    EXPECT_EQ(read.events[i].wall_time, wall_times[i]);
  }
}

TEST_F(EventFileTest, TheReaderDetectsAChangedLengthByte) {
  Corrupt(1);  // a byte of the first record's length
  const testing::OracleResult read = testing::ReadWithOracle(dir_ / "logs", dir_);
  EXPECT_EQ(read.exit_code, 1);
  EXPECT_NE(read.errors.find("length CRC mismatch at offset 0"), std::string::npos) << read.errors;
}

TEST_F(EventFileTest, TheReaderDetectsAChangedDataByte) {
  Corrupt(fs::file_size(path_) - 6);  // inside the last record's data
  const testing::OracleResult read = testing::ReadWithOracle(dir_ / "logs", dir_);
  EXPECT_EQ(read.exit_code, 1);
  EXPECT_NE(read.errors.find("data CRC mismatch"), std::string::npos) << read.errors;
}

}  // namespace
}  // namespace flopwise::client
