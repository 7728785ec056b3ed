#include "runspec/model_shape.h"

#include <google/protobuf/descriptor.h>

#include "runspec/architecture.h"

namespace flopwise::runspec {
namespace {

namespace v1 = ::flopwise::v1;
using google::protobuf::FieldDescriptor;

// The ModelShape field of a flag (a bool for kBool, a string for kChoice;
// checked by runspec_test).
const FieldDescriptor* FlagField(const models::ModelFlag& flag) {
  return v1::ModelShape::descriptor()->FindFieldByName(std::string(flag.name));
}

}  // namespace

models::ModelRequest RequestFromShape(const v1::ModelShape& shape) {
  models::ModelRequest r;
  r.arch = ArchName(shape.arch());
  r.preset = shape.preset();
  r.layers = shape.layers();
  r.d_model = shape.d_model();
  r.heads = shape.heads();
  r.head_dim = shape.head_dim();
  r.ffn_dim = shape.ffn_dim();
  r.gate_rank = shape.gate_rank();
  r.tpe_dim = shape.tpe_dim();
  r.vocab = shape.vocab();
  r.context = shape.context();
  const auto* reflection = shape.GetReflection();
  for (const models::ModelFlag& flag : models::ModelFlags()) {
    const FieldDescriptor* field = FlagField(flag);
    if (field == nullptr) continue;
    if (field->type() == FieldDescriptor::TYPE_BOOL) {
      if (reflection->GetBool(shape, field)) r.flags[std::string(flag.name)] = "true";
    } else if (std::string text = reflection->GetString(shape, field); !text.empty()) {
      r.flags[std::string(flag.name)] = std::move(text);
    }
  }
  return r;
}

void ShapeFromRequest(const models::ModelRequest& r, v1::ModelShape* shape) {
  shape->set_arch(ArchFromName(r.arch));
  shape->set_preset(r.preset);
  shape->set_layers(r.layers);
  shape->set_d_model(r.d_model);
  shape->set_heads(r.heads);
  shape->set_head_dim(r.head_dim);
  shape->set_ffn_dim(r.ffn_dim);
  shape->set_gate_rank(r.gate_rank);
  shape->set_tpe_dim(r.tpe_dim);
  shape->set_vocab(r.vocab);
  shape->set_context(r.context);
  const auto* reflection = shape->GetReflection();
  for (const auto& [name, text] : r.flags) {
    const models::ModelFlag* flag = models::FindModelFlag(name);
    const FieldDescriptor* field = flag == nullptr ? nullptr : FlagField(*flag);
    if (field == nullptr) continue;
    if (field->type() == FieldDescriptor::TYPE_BOOL) {
      reflection->SetBool(shape, field, text == "true");
    } else {
      reflection->SetString(shape, field, text);
    }
  }
}

absl::StatusOr<models::ModelConfig> ModelConfigFromShape(const v1::ModelShape& shape) {
  return models::ResolveModel(RequestFromShape(shape));
}

void ShapeFromModelConfig(const models::ModelConfig& config, std::string preset,
                          v1::ModelShape* shape) {
  ShapeFromRequest(models::RequestFor(config, std::move(preset)), shape);
}

}  // namespace flopwise::runspec
