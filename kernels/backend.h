// The compute interface every model is composed against. One Backend per
// device: the CPU backend (kernels/cpu/) and the CUDA backend (kernels/cuda/),
// with the same ops and argument order.
//
// Conventions (llm.c style):
// - Every pointer is backend memory (from Allocate); for the CPU backend that
//   is ordinary host memory. All tensors are float32, dense, row-major.
// - Shapes are given in one comment line per op. B = batch, T = sequence
//   length, H = heads, D = head dim; activations are token-major
//   [B, T, H, D] (= [B*T, H*D], what a projection produces; head i owns
//   channels [i*D, (i+1)*D)). Linear weights are stored [out, in].
// - Forward ops overwrite their outputs. So do the backwards of the
//   element-wise and positional ops (SiLU, sigmoid gate, GLU, SwiGLU, RoPE,
//   LRPE, the HGRN2 gate) and of softmax attention: their input gradients
//   have one producer, and writing them saves a zeroing pass over an
//   activation-sized buffer. Every other backward op, and every parameter
//   gradient (LRPE's dtheta, the gate's dlower_bound), ADDS (+=), so callers
//   zero those buffers first.
//   A gradient output may be nullptr where the comment says "nullable"
//   (that gradient is then skipped). Outputs never alias inputs unless the
//   comment says "in place allowed".
// - Not thread-safe: one thread drives a Backend at a time (ops share its
//   internal scratch, sized once and reused: no allocation after the first
//   step).
// - Preconditions (REQUIRES) are the caller's job (models validate configs);
//   a violated one aborts with a message naming the argument.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "kernels/device_info.h"

namespace flopwise::kernels {

class Backend {
 public:
  virtual ~Backend() = default;

  // ---- Device and memory ----------------------------------------------
  virtual std::string_view name() const = 0;  // "cpu", "cuda:0", ...
  virtual int threads() const = 0;            // worker threads used by ops
  // The device's memory now (the CPU backend: QueryHostMemory()).
  virtual DeviceMemory memory() const = 0;
  // Returns 64-byte aligned memory of `bytes` (contents undefined), or nullptr
  // when the device cannot provide that much.
  virtual void* Allocate(int64_t bytes) = 0;
  virtual void Free(void* ptr) = 0;  // nullptr allowed
  virtual void Zero(void* ptr, int64_t bytes) = 0;
  virtual void Copy(void* dst, const void* src, int64_t bytes) = 0;  // device → device
  virtual void CopyFromHost(void* dst, const void* host_src, int64_t bytes) = 0;  // host → device
  virtual void CopyToHost(void* host_dst, const void* src, int64_t bytes) = 0;    // device → host
  virtual void Synchronize() = 0;  // waits for queued work (no-op on the CPU)

  float* AllocateFloats(int64_t count) { return static_cast<float*>(Allocate(count * 4)); }

  // ---- GEMM -----------------------------------------------------------
  // out[rows,out_dim] = inp[rows,in_dim] · weight[out_dim,in_dim]ᵀ
  virtual void MatmulForward(float* out, const float* inp, const float* weight, int rows,
                             int in_dim, int out_dim) = 0;
  // dinp[rows,in_dim] += dout·weight (nullable); dweight[out_dim,in_dim] += doutᵀ·inp (nullable)
  virtual void MatmulBackward(float* dinp, float* dweight, const float* dout, const float* inp,
                              const float* weight, int rows, int in_dim, int out_dim) = 0;
  // Row-major c[m,n] = alpha·op(a)·op(b) + beta·c; op(a) is [m,k], op(b) is [k,n];
  // lda/ldb/ldc are row strides of a, b, c as stored (transposed or not).
  virtual void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                    int lda, const float* b, int ldb, float beta, float* c, int ldc) = 0;

  // ---- Embedding ------------------------------------------------------
  // out[rows,dim] = embed[tokens[r], :]; tokens[rows] int32; REQUIRES 0 ≤ token < rows of embed
  virtual void EmbeddingForward(float* out, const int32_t* tokens, const float* embed, int rows,
                                int dim) = 0;
  // dembed[tokens[r], :] += dout[r, :]   (scatter-add; repeated tokens accumulate)
  virtual void EmbeddingBackward(float* dembed, const float* dout, const int32_t* tokens, int rows,
                                 int dim) = 0;

  // ---- Norms ----------------------------------------------------------
  // out[rows,dim] = inp·rstd (⊙ weight[dim] if weight != nullptr, else SRMSNorm);
  // rstd[rows] = 1/sqrt(mean_c inp² + eps) saved for backward
  virtual void RmsNormForward(float* out, float* rstd, const float* inp, const float* weight,
                              int rows, int dim, float eps) = 0;
  // dinp[rows,dim] += ∂/∂inp; dweight[dim] += Σ_rows dout⊙inp·rstd (nullable; ignored if weight
  // null)
  virtual void RmsNormBackward(float* dinp, float* dweight, const float* dout, const float* inp,
                               const float* weight, const float* rstd, int rows, int dim) = 0;

  // ---- Rotary position embedding (rotate-half, docs/model-contract.md §13.2) -----
  // out,inp [B,T,H,D]; position τ = pos_offset + t; pair (c, c+D/2), ω_c = base^(-2c/D);
  // in place allowed; REQUIRES D even
  virtual void RopeForward(float* out, const float* inp, int batch, int seq, int heads,
                           int head_dim, int pos_offset, float base) = 0;
  // dinp[B,T,H,D] = Rᵀ·dout (written); in place allowed
  virtual void RopeBackward(float* dinp, const float* dout, int batch, int seq, int heads,
                            int head_dim, int pos_offset, float base) = 0;

  // ---- Causal softmax attention (memory-efficient, blockwise) -----------------
  // q,k,v,out [B,T,H,D]; lse [B,H,T] (log-sum-exp of each score row, saved);
  // out = softmax(q·kᵀ/sqrt(D) + causal mask)·v
  virtual void AttentionForward(float* out, float* lse, const float* q, const float* k,
                                const float* v, int batch, int seq, int heads, int head_dim) = 0;
  // dq,dk,dv [B,T,H,D] = (written); recomputes scores blockwise from q, k, lse
  virtual void AttentionBackward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                 const float* k, const float* v, const float* out, const float* lse,
                                 int batch, int seq, int heads, int head_dim) = 0;

  // ---- Linear attention, per-head scalar decay (TNL) or none (cos2) ----------
  // q,k [B,T,H,Dk]; v,out [B,T,H,Dv]; log_decay [H] = log λ_h ≤ 0 (nullable: no decay);
  // states [B,H,Dk,Dv] (initial_state nullable = 0; final_state nullable = not wanted).
  // S_τ = λ S_{τ-1} + k_τ v_τᵀ, out_τ = S_τᵀ q_τ; chunked with block size `chunk` (≥ 1).
  virtual void LinearAttentionForward(float* out, float* final_state, const float* q,
                                      const float* k, const float* v, const float* log_decay,
                                      const float* initial_state, int batch, int seq, int heads,
                                      int key_dim, int value_dim, int chunk) = 0;
  // dq,dk [B,T,H,Dk] +=; dv [B,T,H,Dv] +=; dinitial_state [B,H,Dk,Dv] += (nullable);
  // dfinal_state [B,H,Dk,Dv] incoming gradient of final_state (nullable = 0)
  virtual void LinearAttentionBackward(float* dq, float* dk, float* dv, float* dinitial_state,
                                       const float* dout, const float* dfinal_state, const float* q,
                                       const float* k, const float* v, const float* log_decay,
                                       const float* initial_state, int batch, int seq, int heads,
                                       int key_dim, int value_dim, int chunk) = 0;

  // The `chunk` with which this backend runs LinearAttention* (gated = false) or
  // GatedLinearAttention* (gated = true) fastest. Results never depend on it.
  virtual int PreferredChunk(bool gated) const { return 64; }

  // ---- Gated linear attention, per-token per-key-channel decay (HGRN2) -------
  // q,k,log_decay [B,T,H,Dk] (log_decay ≤ 0, finite); v,out [B,T,H,Dv]; states [B,H,Dk,Dv]
  // S_τ = diag(exp(log_decay_τ)) S_{τ-1} + k_τ v_τᵀ, out_τ = S_τᵀ q_τ; chunked (sub-chunks of 16)
  virtual void GatedLinearAttentionForward(float* out, float* final_state, const float* q,
                                           const float* k, const float* v, const float* log_decay,
                                           const float* initial_state, int batch, int seq,
                                           int heads, int key_dim, int value_dim, int chunk) = 0;
  // dq,dk,dlog_decay [B,T,H,Dk] +=; dv [B,T,H,Dv] +=; dinitial_state += (nullable);
  // dfinal_state nullable = 0
  virtual void GatedLinearAttentionBackward(float* dq, float* dk, float* dv, float* dlog_decay,
                                            float* dinitial_state, const float* dout,
                                            const float* dfinal_state, const float* q,
                                            const float* k, const float* v, const float* log_decay,
                                            const float* initial_state, int batch, int seq,
                                            int heads, int key_dim, int value_dim, int chunk) = 0;

  // ---- HGRN2 forget gate and lower bound (docs/model-contract.md §4.2, §7.4) -------
  // phi,log_f,k [rows,dim]; lower_bound [dim] in [0,1):
  // log_f = log(LB + (1-LB)σ(φ)) (logaddexp form; logσ(φ) where LB = 0), k = (1-LB)σ(-φ)
  virtual void Hgrn2GateForward(float* log_f, float* k, const float* phi, const float* lower_bound,
                                int rows, int dim) = 0;
  // dphi [rows,dim] = (written); dlower_bound [dim] += Σ_rows (nullable; pass nullptr for layer 0,
  // whose bound is the constant 0; channels with LB = 0 contribute nothing)
  virtual void Hgrn2GateBackward(float* dphi, float* dlower_bound, const float* dlog_f,
                                 const float* dk, const float* phi, const float* lower_bound,
                                 int rows, int dim) = 0;
  // p [L,dim] (parameter P), lower_bound [L,dim]: LB_l = Σ_{j=1..l} softmax_over_layers(P)_j
  virtual void Hgrn2LowerBoundForward(float* lower_bound, const float* p, int layers, int dim) = 0;
  // dp [L,dim] += (softmax backward of the shifted cumsum); dlower_bound [L,dim]
  virtual void Hgrn2LowerBoundBackward(float* dp, const float* dlower_bound, const float* p,
                                       int layers, int dim) = 0;

  // ---- LRPE (cos2, docs/model-contract.md §5.1) --------------------------------
  // inp [B,T,H,D] → out [B,T,H,2D]: out[..,c] = x_c·cos(τθ[h,c]), out[..,D+c] = x_c·sin(τθ[h,c]);
  // theta [H,D]; τ = pos_offset + t
  virtual void LrpeForward(float* out, const float* inp, const float* theta, int batch, int seq,
                           int heads, int head_dim, int pos_offset) = 0;
  // dinp [B,T,H,D] = (written); dtheta [H,D] += (nullable)
  virtual void LrpeBackward(float* dinp, float* dtheta, const float* dout, const float* inp,
                            const float* theta, int batch, int seq, int heads, int head_dim,
                            int pos_offset) = 0;

  // ---- TPE, ssm variant (cos2, docs/model-contract.md §5.2, §13.4) ----------------
  // inp,out [B,T,dim]; b_weight [dim,e]; log_gamma [e] (≤ 0):
  // h_τ[c,j] = γ_j h_{τ-1}[c,j] + B[c,j]·x_τ[c], out_τ[c] = x_τ[c] + Σ_j h_τ[c,j]
  virtual void TpeForward(float* out, const float* inp, const float* b_weight,
                          const float* log_gamma, int batch, int seq, int dim, int tpe_dim) = 0;
  // dinp [B,T,dim] += (identity path included); db_weight [dim,e] += (nullable)
  virtual void TpeBackward(float* dinp, float* db_weight, const float* dout, const float* inp,
                           const float* b_weight, const float* log_gamma, int batch, int seq,
                           int dim, int tpe_dim) = 0;

  // ---- Element-wise (n elements each) -----------------------------------
  // out = silu(inp) = inp·σ(inp); in place allowed
  virtual void SiluForward(float* out, const float* inp, int64_t n) = 0;
  // dinp = dout·σ(x)(1 + x(1-σ(x)))   (written, as all element-wise backwards)
  virtual void SiluBackward(float* dinp, const float* dout, const float* inp, int64_t n) = 0;
  // out = u ⊙ σ(z)   (output gate G = σ(z))
  virtual void SigmoidGateForward(float* out, const float* u, const float* z, int64_t n) = 0;
  // du = dout⊙σ(z) (nullable); dz = dout⊙u⊙σ(z)(1-σ(z)) (nullable)
  virtual void SigmoidGateBackward(float* du, float* dz, const float* dout, const float* u,
                                   const float* z, int64_t n) = 0;
  // out = u ⊙ v   (SGLU, no activation)
  virtual void GluForward(float* out, const float* u, const float* v, int64_t n) = 0;
  // du = dout⊙v; dv = dout⊙u
  virtual void GluBackward(float* du, float* dv, const float* dout, const float* u, const float* v,
                           int64_t n) = 0;
  // out = u ⊙ silu(v)   (SwiGLU)
  virtual void SwigluForward(float* out, const float* u, const float* v, int64_t n) = 0;
  // du = dout⊙silu(v); dv = dout⊙u⊙silu'(v)
  virtual void SwigluBackward(float* du, float* dv, const float* dout, const float* u,
                              const float* v, int64_t n) = 0;
  // out = a + b; in place allowed (out == a or out == b)
  virtual void ResidualForward(float* out, const float* a, const float* b, int64_t n) = 0;
  // da += dout; db += dout (either nullable)
  virtual void ResidualBackward(float* da, float* db, const float* dout, int64_t n) = 0;
  // y += x
  virtual void Accumulate(float* y, const float* x, int64_t n) = 0;
  // x *= scale
  virtual void Scale(float* x, float scale, int64_t n) = 0;

  // ---- Loss: fused softmax + cross-entropy over the tied unembedding ---------
  // x [rows,dim] (final-norm output); embed [padded_vocab,dim] (rows ≥ vocab are padding: never
  // read, never written); targets [rows] int32 in [0,vocab) or −1 = ignored (loss 0, no gradient);
  // losses [rows] = −log softmax(x·embedᵀ)[target] over the first `vocab` logits.
  // If dx/dembed are non-null: dlogits = grad_scale·(softmax − onehot) per token (computed in
  // token slices, never all rows×vocab at once); dx [rows,dim] += dlogits·embed;
  // dembed [vocab,dim] += dlogitsᵀ·x. grad_scale is usually 1/(tokens in the whole step).
  virtual void ClassifierForwardBackward(float* losses, float* dx, float* dembed, const float* x,
                                         const float* embed, const int32_t* targets, int rows,
                                         int dim, int vocab, int padded_vocab,
                                         float grad_scale) = 0;

  // ---- Optimiser ----------------------------------------------------------
  // AdamW (decoupled weight decay) on n parameters; step is 1-based (bias correction);
  // g = grad_scale·grad (clipping factor); m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
  // param -= lr·( m̂/(sqrt(v̂)+eps) + weight_decay·param ). grad is not modified.
  virtual void AdamWUpdate(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                           float beta1, float beta2, float eps, float weight_decay, int64_t step,
                           float grad_scale) = 0;
  // Σ x² accumulated in double (global grad norm = sqrt of the sum over all gradients).
  virtual double SumOfSquares(const float* x, int64_t n) = 0;
};

// The CPU backend: OpenBLAS for GEMMs, OpenMP loops for the rest.
// threads ≤ 0 uses every core this process may run on. Sets the OpenMP and
// OpenBLAS thread counts of the process.
std::unique_ptr<Backend> MakeCpuBackend(int threads);

// How the CUDA backend computes (docs/kernels.md, "Mixed precision").
struct CudaBackendOptions {
  // Ops never reduce with atomics whose order varies, so results are
  // bit-identical between runs on one device and binary.
  bool deterministic = true;
  // bf16 mode: the GEMMs (Gemm, MatmulForward/Backward and the classifier's
  // three products) round their fp32 operands to nearest bf16 and multiply on
  // tensor cores, accumulating in fp32 into fp32 outputs. Every tensor stays
  // fp32 in memory and every other op computes in fp32. false: fp32 GEMMs
  // without TF32.
  bool bf16_gemms = false;
};

// The CUDA backend on device `device` (cuBLAS for GEMMs, kernels/cuda/ for
// the rest; one stream). Allocate returns nullptr when the device is out of
// memory; memory() is the device's. The calling thread's current device
// becomes `device`; drive the backend from that thread.
// The backend is a shared library opened on first use (docs/kernels.md).
// FailedPrecondition when this binary was built without CUDA, the library
// cannot be loaded or the machine has no usable CUDA device, InvalidArgument
// when `device` is not one of its devices (each message says which).
absl::StatusOr<std::unique_ptr<Backend>> MakeCudaBackend(int device,
                                                         const CudaBackendOptions& options);

}  // namespace flopwise::kernels
