// The run description and its converters: every model flag has its proto
// field, a ModelConfig survives ModelShape and JSON for every architecture and
// flag, and architecture names map one to one onto the proto enum.
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "models/model_flags.h"
#include "models/presets.h"
#include "runspec/architecture.h"
#include "runspec/model_shape.h"
#include "runspec/proto_json.h"

namespace flopwise::runspec {
namespace {

namespace v1 = ::flopwise::v1;
using google::protobuf::FieldDescriptor;
using models::Arch;

constexpr Arch kArchs[] = {Arch::kLlama, Arch::kTnl, Arch::kHgrn2, Arch::kCos2};

// Every flag of the config's architecture away from its default (the others
// are not part of its model). A new flag must be added here: the test below
// checks that none is left at its default.
models::ModelConfig AllFlagsSet(models::ModelConfig c) {
  const models::ModelConfig defaults;
  c.tpe_variant = models::TpeVariant::kNone;
  c.scaled_residual_init = true;
  c.norm_affine = true;
  c.v_act = models::VAct::kSilu;
  c.lrpe_variant = models::LrpeVariant::kXmixers;
  c.embed_scale = true;
  for (const models::ModelFlag& flag : models::ModelFlags()) {
    if (!flag.applies_to(c.arch)) {
      EXPECT_TRUE(flag.set(flag.get(defaults), &c).ok());
    }
  }
  models::FillDerivedFields(&c);
  return c;
}

models::ModelConfig Cpu2(Arch arch) {
  auto config = models::FindPreset(arch, "cpu-2", 256, 64);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(ModelShapeFields, EveryFlagHasAFieldOfItsNameAndKind) {
  const google::protobuf::Descriptor* shape = v1::ModelShape::descriptor();
  std::set<std::string> fields = {"arch",    "preset", "layers",  "d_model",   "heads",  "head_dim",
                                  "ffn_dim", "vocab",  "context", "gate_rank", "tpe_dim"};
  for (const models::ModelFlag& flag : models::ModelFlags()) {
    const FieldDescriptor* field = shape->FindFieldByName(std::string(flag.name));
    ASSERT_NE(field, nullptr) << "ModelShape lacks a field for flag " << flag.name;
    EXPECT_EQ(field->type(), flag.kind == models::FlagKind::kBool ? FieldDescriptor::TYPE_BOOL
                                                                  : FieldDescriptor::TYPE_STRING)
        << flag.name;
    fields.insert(std::string(flag.name));
  }
  // And no field is left that nothing converts.
  for (int i = 0; i < shape->field_count(); ++i) {
    EXPECT_TRUE(fields.contains(shape->field(i)->name())) << shape->field(i)->name();
  }
}

TEST(ModelFlagsTable, BooleanFlagsDefaultToFalse) {
  const models::ModelConfig defaults;
  for (const models::ModelFlag& flag : models::ModelFlags()) {
    if (flag.kind == models::FlagKind::kBool) {
      EXPECT_EQ(flag.get(defaults), "false") << flag.name;
    }
  }
}

TEST(ModelShapeRoundTrip, EveryArchitectureWithAndWithoutEveryFlag) {
  for (Arch arch : kArchs) {
    for (bool flags : {false, true}) {
      const models::ModelConfig config = flags ? AllFlagsSet(Cpu2(arch)) : Cpu2(arch);
      SCOPED_TRACE(std::string(models::ArchName(arch)) + (flags ? " with flags" : ""));
      if (flags) {
        size_t applicable = 0;
        for (const models::ModelFlag& flag : models::ModelFlags()) {
          applicable += flag.applies_to(arch) ? 1 : 0;
        }
        EXPECT_EQ(models::NonDefaultModelFlags(config).size(), applicable);
      }
      for (const char* preset : {"", "cpu-2"}) {
        v1::ModelShape shape;
        ShapeFromModelConfig(config, preset, &shape);
        EXPECT_EQ(shape.preset(), preset);
        auto back = ModelConfigFromShape(shape);
        ASSERT_TRUE(back.ok()) << back.status();
        EXPECT_TRUE(*back == config);

        // Through the JSON text a coordinator stores and a worker hands over.
        v1::ModelShape parsed;
        ASSERT_TRUE(ProtoFromJson(ProtoToJson(shape), "shape", &parsed).ok());
        auto reparsed = ModelConfigFromShape(parsed);
        ASSERT_TRUE(reparsed.ok()) << reparsed.status();
        EXPECT_TRUE(*reparsed == config);
      }
    }
  }
}

TEST(ModelShapeRoundTrip, FlagsOfOtherArchitecturesKeepTheirDefaults) {
  v1::ModelShape shape;
  shape.set_arch(v1::ARCHITECTURE_LLAMA);
  shape.set_preset("cpu-1");
  shape.set_vocab(256);
  shape.set_context(64);
  shape.set_v_act("silu");
  shape.set_norm_affine(true);
  shape.set_embed_scale(true);
  auto config = ModelConfigFromShape(shape);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->v_act, models::VAct::kNone);
  EXPECT_FALSE(config->norm_affine);
  EXPECT_TRUE(config->embed_scale);
  shape.set_v_act("relu");  // still checked
  EXPECT_EQ(ModelConfigFromShape(shape).status().message(),
            "v_act: unknown activation 'relu' (expected none or silu)");
}

TEST(ModelShapeRoundTrip, APresetWithOverridesResolvesAsTheTrainerDoes) {
  v1::ModelShape shape;
  shape.set_arch(v1::ARCHITECTURE_TNL);
  shape.set_preset("cpu-2");
  shape.set_vocab(256);
  shape.set_context(64);
  shape.set_d_model(128);
  shape.set_heads(4);
  auto config = ModelConfigFromShape(shape);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->layers, Cpu2(Arch::kTnl).layers);
  EXPECT_EQ(config->head_dim, 32);
  EXPECT_EQ(config->gate_rank, 32);  // derived again from the new head dim
  shape.set_heads(3);
  EXPECT_EQ(ModelConfigFromShape(shape).status().message(),
            "d_model: must be divisible by heads (3)");
  shape.set_preset("cpu-99");
  EXPECT_TRUE(absl::IsNotFound(ModelConfigFromShape(shape).status()));
  shape.clear_arch();
  EXPECT_EQ(ModelConfigFromShape(shape).status().message(),
            "arch: required (llama, tnl, hgrn2, cos2)");
}

TEST(Architecture, NamesAndProtoValuesMapOneToOne) {
  for (Arch arch : kArchs) {
    const v1::Architecture value = ArchToProto(arch);
    EXPECT_NE(value, v1::ARCHITECTURE_UNSPECIFIED) << models::ArchName(arch);
    EXPECT_EQ(ArchName(value), models::ArchName(arch));
    EXPECT_EQ(ArchFromName(models::ArchName(arch)), value);
  }
  // Every value of the enum but UNSPECIFIED is an architecture of models/.
  const google::protobuf::EnumDescriptor* values = v1::Architecture_descriptor();
  for (int i = 0; i < values->value_count(); ++i) {
    const auto value = static_cast<v1::Architecture>(values->value(i)->number());
    EXPECT_EQ(models::ParseArch(ArchName(value)).ok(), value != v1::ARCHITECTURE_UNSPECIFIED)
        << values->value(i)->name();
  }
  EXPECT_EQ(ArchName(v1::ARCHITECTURE_UNSPECIFIED), "");
  EXPECT_EQ(ArchFromName("gpt"), v1::ARCHITECTURE_UNSPECIFIED);
}

TEST(ProtoJsonFile, WritesAndReadsARunConfig) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("runspec-test-" + std::to_string(::getpid()) + ".json"))
                               .string();
  v1::RunConfig config;
  ShapeFromModelConfig(AllFlagsSet(Cpu2(Arch::kCos2)), "cpu-2", config.mutable_model());
  config.set_total_tokens(int64_t{1} << 40);
  config.set_lr(3e-4);
  config.set_schedule(v1::LR_SCHEDULE_COSINE);
  ASSERT_TRUE(WriteProtoJsonFile(config, path).ok());
  v1::RunConfig read;
  ASSERT_TRUE(ReadProtoJsonFile(path, &read).ok());
  EXPECT_EQ(read.SerializeAsString(), config.SerializeAsString());

  std::ofstream(path) << R"({"total_tokens": 5, "colour": "red"})";
  const absl::Status unknown = ReadProtoJsonFile(path, &read);
  EXPECT_TRUE(absl::IsInvalidArgument(unknown)) << unknown;
  EXPECT_NE(unknown.message().find(path), std::string::npos) << unknown;
  std::remove(path.c_str());
  EXPECT_TRUE(absl::IsNotFound(ReadProtoJsonFile(path, &read)));
}

}  // namespace
}  // namespace flopwise::runspec
