// The strict YAML reader (base/yaml_document.h) and the programs' --config
// files that go through it (base/yaml_config.h).
#include "base/yaml_document.h"

#include <gtest/gtest.h>

#include <sstream>

#include "base/yaml_config.h"

namespace flopwise {
namespace {

TEST(YamlDocument, ParsesAMapping) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument("lr: 0.002\nsizes: [a, b]\n");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ((*node)["lr"].as<double>(), 0.002);
  EXPECT_EQ((*node)["sizes"].size(), 2u);
}

TEST(YamlDocument, RepeatedKeyNamesBothLines) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument("a: 1\nb: {x: 1}\na: 2\n");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().message(), "line 3, column 1: duplicate key 'a' (first at line 1)");
}

TEST(YamlDocument, RepeatedKeyInsideAListIsFound) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument("grids:\n  - {name: g, name: h}\n");
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("line 2, column 15: duplicate key 'name'"),
            std::string::npos)
      << node.status();
}

TEST(YamlDocument, EqualKeysInDifferentMappingsAreFine) {
  EXPECT_TRUE(ParseYamlDocument("a: {x: 1}\nb: {x: 2}\n").ok());
}

TEST(YamlDocument, BytesThatAreNotUtf8ArePlaced) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument("a: 1\nname: caf\xe9\n");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().message(), "line 2, column 10: not valid UTF-8 (byte 0xe9)");
}

TEST(YamlDocument, SyntaxErrorsKeepTheirPosition) {
  absl::StatusOr<YAML::Node> node = ParseYamlDocument("a: [1, 2\n");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().message().rfind("line ", 0), 0u) << node.status();
}

TEST(YamlConfig, RepeatedFlagInAConfigFileIsAnError) {
  std::istringstream file("threads: 1\nthreads: 2\n");
  try {
    YamlConfig().from_config(file);
    FAIL() << "a repeated key was accepted";
  } catch (const CLI::ConversionError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate key 'threads'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flopwise
