// flopwise.v1.ModelShape to and from the models module: the one converter the
// coordinator, the worker and the trainer use. The shape's flag fields are
// matched to models::ModelFlags() by name, so a new flag needs no code here.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "flopwise/v1/types.pb.h"
#include "models/config.h"
#include "models/model_request.h"

namespace flopwise::runspec {

// The request a shape describes: zero fields and flags at their defaults are
// unset.
models::ModelRequest RequestFromShape(const ::flopwise::v1::ModelShape& shape);
void ShapeFromRequest(const models::ModelRequest& request, ::flopwise::v1::ModelShape* shape);

// models::ResolveModel of the shape's request.
absl::StatusOr<models::ModelConfig> ModelConfigFromShape(const ::flopwise::v1::ModelShape& shape);
// Every field of `config` (and its flags that differ from the defaults), with
// `preset` recorded as its origin; ModelConfigFromShape gives `config` back.
void ShapeFromModelConfig(const models::ModelConfig& config, std::string preset,
                          ::flopwise::v1::ModelShape* shape);

}  // namespace flopwise::runspec
