#include "models/size_limits.h"

namespace flopwise::models {
namespace {

constexpr SizeLimit kSizeLimits[] = {
    {"layers", kMaxLayers, "8 times the deepest published language models"},
    {"d_model", kMaxDModel, "3.5 times the widest published language model (18432)"},
    {"heads", kMaxHeads, "8 times the most heads of a published language model (128)"},
    {"ffn_dim", kMaxFfnDim, "4 times the largest d_model"},
    {"vocab", kMaxVocab, "64 times the largest published vocabularies (256K)"},
    {"context", kMaxContext, "64 times the paper's longest context (16K)"},
    {"gate_rank", kMaxDModel, "the largest d_model"},
    {"tpe_dim", kMaxDModel, "the largest d_model"},
    {"parameters", kMaxParams,
     "a trillion parameters take 16 TB to train in fp32 (weights, gradients and two AdamW "
     "moments), more than any one machine holds"},
};

}  // namespace

std::span<const SizeLimit> SizeLimits() { return kSizeLimits; }

}  // namespace flopwise::models
