// Model: creation, the arenas and their typed views, the constant buffers,
// the step entry points and the optimizer.
#include "models/model.h"

#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/accounting.h"
#include "models/lrpe_theta.h"
#include "models/slopes.h"

namespace flopwise::models {
namespace {

std::string Gib(int64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (int64_t{1} << 30));
}

// "this machine has 15.6 GiB of memory, 9.2 GiB of it available" (or "the GPU
// cuda:0 has ..."), or under a limit "this process may use 2.4 GiB of memory
// (ulimit -v), 2.3 GiB of it available": the number that was short, with what
// set it.
std::string MemoryOnHand(const kernels::DeviceMemory& memory) {
  if (memory.limited_by.empty()) {
    return absl::StrCat(memory.holder, " has ", Gib(memory.total_bytes), " of memory, ",
                        Gib(memory.available_bytes), " of it available");
  }
  return absl::StrCat("this process may use ", Gib(memory.total_bytes), " of memory (",
                      memory.limited_by, "), ", Gib(memory.available_bytes), " of it available");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> Model::Create(const ModelConfig& config, int batch,
                                                     kernels::Backend* backend) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (batch <= 0) {
    return absl::InvalidArgumentError("batch: must be positive (got " + std::to_string(batch) +
                                      ")");
  }
  if (int64_t{batch} * config.context > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch: ", batch, " sequences of ", config.context, " tokens are more than ",
                     std::numeric_limits<int>::max(), " tokens per forward"));
  }
  const int64_t needed_bytes =
      EstimateTrainMemoryBytes(config, int64_t{batch} * config.context, backend->threads());
  if (const kernels::DeviceMemory memory = backend->memory();
      needed_bytes > memory.available_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory: the model needs ", Gib(needed_bytes), " (", needed_bytes,
                     " bytes: weights, gradients, AdamW moments and the activations of ", batch,
                     " × ", config.context, " tokens) but ", MemoryOnHand(memory)));
  }
  std::unique_ptr<Model> model(new Model(config, batch, backend));
  if (absl::Status s = model->Allocate(); !s.ok()) return s;
  return model;
}

Model::Model(const ModelConfig& config, int batch, kernels::Backend* backend)
    : config_(config), batch_(batch), backend_(backend), layout_(ComputeParamLayout(config)) {}

Model::~Model() {
  for (void* p :
       {static_cast<void*>(params_), static_cast<void*>(grads_), static_cast<void*>(adam_m_),
        static_cast<void*>(adam_v_), static_cast<void*>(activation_arena_),
        static_cast<void*>(inputs_), static_cast<void*>(targets_)}) {
    backend_->Free(p);
  }
}

absl::Status Model::Allocate() {
  // What failed to allocate, with the size asked for; the destructor frees
  // the arenas allocated before it.
  auto out_of_memory = [this](std::string_view what, int64_t bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory: allocating the ", std::string(what), " (", Gib(bytes), ", ",
                     bytes, " bytes) failed; ", MemoryOnHand(backend_->memory())));
  };
  const int64_t floats = layout_.floats;
  const int64_t bytes = floats * int64_t{sizeof(float)};
  for (auto [arena, what] : {std::pair<float**, std::string_view>{&params_, "weights"},
                             {&grads_, "gradients"},
                             {&adam_m_, "AdamW first moments"},
                             {&adam_v_, "AdamW second moments"}}) {
    *arena = backend_->AllocateFloats(floats);
    if (*arena == nullptr) return out_of_memory(what, bytes);
  }
  for (float* arena : {params_, grads_, adam_m_, adam_v_}) backend_->Zero(arena, bytes);
  auto view_of = [](float* arena) {
    return [arena](int64_t offset) { return offset < 0 ? nullptr : arena + offset; };
  };
  param_views_ = layout_.offsets.Map(view_of(params_));
  grad_views_ = layout_.offsets.Map(view_of(grads_));

  ActivationSizes sizes = ComputeActivationSizes(config_, batch_tokens());
  int64_t total = 0;
  sizes.ForEach([&](int64_t size) { total += size; });
  activation_arena_ = backend_->AllocateFloats(total);
  if (activation_arena_ == nullptr) {
    return out_of_memory("activations", total * int64_t{sizeof(float)});
  }
  backend_->Zero(activation_arena_, total * int64_t{sizeof(float)});
  // Carve: walk both structs in the same declaration order.
  std::vector<int64_t> size_list;
  sizes.ForEach([&](int64_t size) { size_list.push_back(size); });
  size_t index = 0;
  int64_t offset = 0;
  acts_.ForEach([&](float*& ptr) {
    ptr = size_list[index] > 0 ? activation_arena_ + offset : nullptr;
    offset += size_list[index++];
  });
  const int64_t token_bytes = batch_tokens() * int64_t{sizeof(int32_t)};
  inputs_ = static_cast<int32_t*>(backend_->Allocate(token_bytes));
  targets_ = static_cast<int32_t*>(backend_->Allocate(token_bytes));
  if (inputs_ == nullptr || targets_ == nullptr) return out_of_memory("token ids", token_bytes);
  host_losses_.resize(batch_tokens());
  FillConstantBuffers();
  return absl::OkStatus();
}

// TNL decays per (layer, head), TPE decays, fixed LRPE angles.
void Model::FillConstantBuffers() {
  if (acts_.log_decay != nullptr) {
    const std::vector<double> slopes = HeadSlopes(config_.heads);
    std::vector<float> host(int64_t{config_.layers} * config_.heads);
    for (int l = 0; l < config_.layers; ++l) {
      const double kappa = LayerDecayFactor(l, config_.layers);
      for (int h = 0; h < config_.heads; ++h) {
        host[l * config_.heads + h] = static_cast<float>(-slopes[h] * kappa);
      }
    }
    backend_->CopyFromHost(acts_.log_decay, host.data(), host.size() * sizeof(float));
  }
  if (acts_.log_gamma != nullptr) {
    const std::vector<double> slopes = HeadSlopes(config_.tpe_dim);
    std::vector<float> host(slopes.size());
    for (size_t j = 0; j < slopes.size(); ++j) host[j] = static_cast<float>(-slopes[j]);
    backend_->CopyFromHost(acts_.log_gamma, host.data(), host.size() * sizeof(float));
  }
  if (acts_.lrpe_theta != nullptr) {
    const std::vector<float> host = XmixersLrpeTheta(config_.heads, config_.head_dim);
    backend_->CopyFromHost(acts_.lrpe_theta, host.data(), host.size() * sizeof(float));
  }
}

const TensorSpec* Model::FindTensor(std::string_view name) const {
  for (const TensorSpec& t : layout_.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

double Model::Forward(const int32_t* inputs, const int32_t* targets) {
  ForwardPass(inputs, targets, 0.0f);
  return std::accumulate(host_losses_.begin(), host_losses_.end(), 0.0) / host_losses_.size();
}

double Model::ForwardBackward(const int32_t* inputs, const int32_t* targets, float grad_scale,
                              const GradsFinalFn& grads_final) {
  ForwardPass(inputs, targets, grad_scale);
  Backward(grads_final);
  return std::accumulate(host_losses_.begin(), host_losses_.end(), 0.0) / host_losses_.size();
}

void Model::ZeroGrads() { backend_->Zero(grads_, layout_.floats * int64_t{sizeof(float)}); }

double Model::GradSquaredNorm() {
  double sum = 0.0;
  for (const TensorSpec& t : layout_.tensors) {
    sum += backend_->SumOfSquares(grads_ + t.offset, t.numel());
  }
  return sum;
}

void Model::AdamWStep(const AdamWOptions& options, float lr, int64_t step, float grad_scale) {
  for (const TensorSpec& t : layout_.tensors) {
    const int64_t o = t.offset;
    backend_->AdamWUpdate(params_ + o, grads_ + o, adam_m_ + o, adam_v_ + o, t.numel(), lr,
                          options.beta1, options.beta2, options.eps,
                          t.weight_decay ? options.weight_decay : 0.0f, step, grad_scale);
  }
}

}  // namespace flopwise::models
