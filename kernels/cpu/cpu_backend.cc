// The CPU Backend: forwards every op to the float instantiation of the
// templated kernels in this folder and owns their shared scratch memory.
#include <cblas.h>
#include <omp.h>
#include <sched.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels/backend.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/classifier.h"
#include "kernels/cpu/dense_ops.h"
#include "kernels/cpu/gated_linear_attention.h"
#include "kernels/cpu/hgrn2_gate.h"
#include "kernels/cpu/linear_attention.h"
#include "kernels/cpu/op_times.h"
#include "kernels/cpu/position_ops.h"
#include "kernels/cpu/scratch.h"
#include "kernels/require.h"

namespace flopwise::kernels {
namespace {

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return 1;
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : threads_(threads > 0 ? threads : UsableCores()) {
    omp_set_num_threads(threads_);
    openblas_set_num_threads(threads_);
  }

  std::string_view name() const override { return "cpu"; }
  int threads() const override { return threads_; }

  DeviceMemory memory() const override { return QueryHostMemory(); }
  void* Allocate(int64_t bytes) override {
    const cpu::ScopedOpTime timer(__func__);
    const int64_t rounded = ((std::max<int64_t>(bytes, 1) + 63) / 64) * 64;
    return std::aligned_alloc(64, static_cast<size_t>(rounded));
  }
  void Free(void* ptr) override { std::free(ptr); }
  void Zero(void* ptr, int64_t bytes) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::ParallelZero(ptr, bytes);
  }
  void Copy(void* dst, const void* src, int64_t bytes) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::ParallelCopy(dst, src, bytes);
  }
  void CopyFromHost(void* dst, const void* host_src, int64_t bytes) override {
    const cpu::ScopedOpTime timer(__func__);
    std::memcpy(dst, host_src, static_cast<size_t>(bytes));
  }
  void CopyToHost(void* host_dst, const void* src, int64_t bytes) override {
    const cpu::ScopedOpTime timer(__func__);
    std::memcpy(host_dst, src, static_cast<size_t>(bytes));
  }
  void Synchronize() override {}

  void MatmulForward(float* out, const float* inp, const float* weight, int rows, int in_dim,
                     int out_dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::MatmulForward(out, inp, weight, rows, in_dim, out_dim);
  }
  void MatmulBackward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, int rows, int in_dim, int out_dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::MatmulBackward(dinp, dweight, dout, inp, weight, rows, in_dim, out_dim);
  }
  void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
            const float* b, int ldb, float beta, float* c, int ldc) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::Gemm<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  void EmbeddingForward(float* out, const int32_t* tokens, const float* embed, int rows,
                        int dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::EmbeddingForward(out, tokens, embed, rows, dim);
  }
  void EmbeddingBackward(float* dembed, const float* dout, const int32_t* tokens, int rows,
                         int dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::EmbeddingBackward(dembed, dout, tokens, rows, dim);
  }

  void RmsNormForward(float* out, float* rstd, const float* inp, const float* weight, int rows,
                      int dim, float eps) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(dim > 0, "RmsNormForward", "dim must be positive");
    cpu::RmsNormForward(out, rstd, inp, weight, rows, dim, eps);
  }
  void RmsNormBackward(float* dinp, float* dweight, const float* dout, const float* inp,
                       const float* weight, const float* rstd, int rows, int dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::RmsNormBackward(dinp, dweight, dout, inp, weight, rstd, rows, dim, scratch_);
  }

  void RopeForward(float* out, const float* inp, int batch, int seq, int heads, int head_dim,
                   int pos_offset, float base) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(head_dim % 2 == 0, "RopeForward", "head_dim must be even");
    cpu::RopeForward(out, inp, batch, seq, heads, head_dim, pos_offset, base, scratch_);
  }
  void RopeBackward(float* dinp, const float* dout, int batch, int seq, int heads, int head_dim,
                    int pos_offset, float base) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(head_dim % 2 == 0, "RopeBackward", "head_dim must be even");
    cpu::RopeBackward(dinp, dout, batch, seq, heads, head_dim, pos_offset, base, scratch_);
  }

  void AttentionForward(float* out, float* lse, const float* q, const float* k, const float* v,
                        int batch, int seq, int heads, int head_dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::AttentionForward(out, lse, q, k, v, batch, seq, heads, head_dim, scratch_);
  }
  void AttentionBackward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                         const float* k, const float* v, const float* out, const float* lse,
                         int batch, int seq, int heads, int head_dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, batch, seq, heads, head_dim,
                           scratch_);
  }

  void LinearAttentionForward(float* out, float* final_state, const float* q, const float* k,
                              const float* v, const float* log_decay, const float* initial_state,
                              int batch, int seq, int heads, int key_dim, int value_dim,
                              int chunk) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(chunk >= 1, "LinearAttentionForward", "chunk must be at least 1");
    cpu::LinearAttentionForward(out, final_state, q, k, v, log_decay, initial_state, batch, seq,
                                heads, key_dim, value_dim, chunk, scratch_);
  }
  void LinearAttentionBackward(float* dq, float* dk, float* dv, float* dinitial_state,
                               const float* dout, const float* dfinal_state, const float* q,
                               const float* k, const float* v, const float* log_decay,
                               const float* initial_state, int batch, int seq, int heads,
                               int key_dim, int value_dim, int chunk) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(chunk >= 1, "LinearAttentionBackward", "chunk must be at least 1");
    cpu::LinearAttentionBackward(dq, dk, dv, dinitial_state, dout, dfinal_state, q, k, v, log_decay,
                                 initial_state, batch, seq, heads, key_dim, value_dim, chunk,
                                 scratch_);
  }

  // Measured with bench/kernels at head dims 32 and 64: the intra-chunk work
  // grows with the chunk while the state GEMMs do not (docs/kernels.md).
  int PreferredChunk(bool gated) const override { return gated ? 16 : 32; }

  void GatedLinearAttentionForward(float* out, float* final_state, const float* q, const float* k,
                                   const float* v, const float* log_decay,
                                   const float* initial_state, int batch, int seq, int heads,
                                   int key_dim, int value_dim, int chunk) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(chunk >= 1, "GatedLinearAttentionForward", "chunk must be at least 1");
    cpu::GatedLinearAttentionForward(out, final_state, q, k, v, log_decay, initial_state, batch,
                                     seq, heads, key_dim, value_dim, chunk, scratch_);
  }
  void GatedLinearAttentionBackward(float* dq, float* dk, float* dv, float* dlog_decay,
                                    float* dinitial_state, const float* dout,
                                    const float* dfinal_state, const float* q, const float* k,
                                    const float* v, const float* log_decay,
                                    const float* initial_state, int batch, int seq, int heads,
                                    int key_dim, int value_dim, int chunk) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(chunk >= 1, "GatedLinearAttentionBackward", "chunk must be at least 1");
    cpu::GatedLinearAttentionBackward(dq, dk, dv, dlog_decay, dinitial_state, dout, dfinal_state, q,
                                      k, v, log_decay, initial_state, batch, seq, heads, key_dim,
                                      value_dim, chunk, scratch_);
  }

  void Hgrn2GateForward(float* log_f, float* k, const float* phi, const float* lower_bound,
                        int rows, int dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::Hgrn2GateForward(log_f, k, phi, lower_bound, rows, dim);
  }
  void Hgrn2GateBackward(float* dphi, float* dlower_bound, const float* dlog_f, const float* dk,
                         const float* phi, const float* lower_bound, int rows, int dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::Hgrn2GateBackward(dphi, dlower_bound, dlog_f, dk, phi, lower_bound, rows, dim, scratch_);
  }
  void Hgrn2LowerBoundForward(float* lower_bound, const float* p, int layers, int dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::Hgrn2LowerBoundForward(lower_bound, p, layers, dim);
  }
  void Hgrn2LowerBoundBackward(float* dp, const float* dlower_bound, const float* p, int layers,
                               int dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::Hgrn2LowerBoundBackward(dp, dlower_bound, p, layers, dim);
  }

  void LrpeForward(float* out, const float* inp, const float* theta, int batch, int seq, int heads,
                   int head_dim, int pos_offset) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::LrpeForward(out, inp, theta, batch, seq, heads, head_dim, pos_offset, scratch_);
  }
  void LrpeBackward(float* dinp, float* dtheta, const float* dout, const float* inp,
                    const float* theta, int batch, int seq, int heads, int head_dim,
                    int pos_offset) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::LrpeBackward(dinp, dtheta, dout, inp, theta, batch, seq, heads, head_dim, pos_offset,
                      scratch_);
  }

  void TpeForward(float* out, const float* inp, const float* b_weight, const float* log_gamma,
                  int batch, int seq, int dim, int tpe_dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::TpeForward(out, inp, b_weight, log_gamma, batch, seq, dim, tpe_dim, scratch_);
  }
  void TpeBackward(float* dinp, float* db_weight, const float* dout, const float* inp,
                   const float* b_weight, const float* log_gamma, int batch, int seq, int dim,
                   int tpe_dim) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::TpeBackward(dinp, db_weight, dout, inp, b_weight, log_gamma, batch, seq, dim, tpe_dim,
                     scratch_);
  }

  void SiluForward(float* out, const float* inp, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::SiluForward(out, inp, n);
  }
  void SiluBackward(float* dinp, const float* dout, const float* inp, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::SiluBackward(dinp, dout, inp, n);
  }
  void SigmoidGateForward(float* out, const float* u, const float* z, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::SigmoidGateForward(out, u, z, n);
  }
  void SigmoidGateBackward(float* du, float* dz, const float* dout, const float* u, const float* z,
                           int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::SigmoidGateBackward(du, dz, dout, u, z, n);
  }
  void GluForward(float* out, const float* u, const float* v, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::GluForward(out, u, v, n);
  }
  void GluBackward(float* du, float* dv, const float* dout, const float* u, const float* v,
                   int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::GluBackward(du, dv, dout, u, v, n);
  }
  void SwigluForward(float* out, const float* u, const float* v, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::SwigluForward(out, u, v, n);
  }
  void SwigluBackward(float* du, float* dv, const float* dout, const float* u, const float* v,
                      int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::SwigluBackward(du, dv, dout, u, v, n);
  }
  void ResidualForward(float* out, const float* a, const float* b, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::ResidualForward(out, a, b, n);
  }
  void ResidualBackward(float* da, float* db, const float* dout, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::ResidualBackward(da, db, dout, n);
  }
  void Accumulate(float* y, const float* x, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::Accumulate(y, x, n);
  }
  void Scale(float* x, float scale, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    cpu::Scale(x, scale, n);
  }

  void ClassifierForwardBackward(float* losses, float* dx, float* dembed, const float* x,
                                 const float* embed, const int32_t* targets, int rows, int dim,
                                 int vocab, int padded_vocab, float grad_scale) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(vocab >= 1 && vocab <= padded_vocab, "ClassifierForwardBackward",
            "vocab must be in [1, padded_vocab]");
    cpu::ClassifierForwardBackward(losses, dx, dembed, x, embed, targets, rows, dim, vocab,
                                   grad_scale, scratch_);
  }

  void AdamWUpdate(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int64_t step,
                   float grad_scale) override {
    const cpu::ScopedOpTime timer(__func__);
    Require(step >= 1, "AdamWUpdate", "step is 1-based and must be at least 1");
    cpu::AdamWUpdate(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, step, grad_scale);
  }
  double SumOfSquares(const float* x, int64_t n) override {
    const cpu::ScopedOpTime timer(__func__);
    return cpu::SumOfSquares(x, n);
  }

 private:
  int threads_;
  cpu::Scratch<float> scratch_;
};

}  // namespace

std::unique_ptr<Backend> MakeCpuBackend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace flopwise::kernels
