// The scalar decay is the gated recurrence with a_τ[c] = log λ_h at every token
// and channel: kernels/cuda/chunked_recurrence.cu runs both, reading log λ_h
// per head instead of a [B,T,H,Dk] tensor.
#include "kernels/cuda/linear_attention.h"

#include "kernels/cuda/chunked_recurrence.h"

namespace flopwise::kernels::cuda {

void LinearAttentionForward(const Context& ctx, float* out, float* final_state, const float* q,
                            const float* k, const float* v, const float* log_decay,
                            const float* initial_state, int batch, int seq, int heads, int key_dim,
                            int value_dim, int chunk) {
  ChunkedRecurrenceForward(ctx, out, final_state, q, k, v, LogDecay{log_decay, /*per_head=*/true},
                           initial_state, batch, seq, heads, key_dim, value_dim, chunk,
                           "LinearAttentionForward");
}

void LinearAttentionBackward(const Context& ctx, float* dq, float* dk, float* dv,
                             float* dinitial_state, const float* dout, const float* dfinal_state,
                             const float* q, const float* k, const float* v, const float* log_decay,
                             const float* initial_state, int batch, int seq, int heads, int key_dim,
                             int value_dim, int chunk) {
  ChunkedRecurrenceBackward(ctx, dq, dk, dv, /*dlog_decay=*/nullptr, dinitial_state, dout,
                            dfinal_state, q, k, v, LogDecay{log_decay, /*per_head=*/true},
                            initial_state, batch, seq, heads, key_dim, value_dim, chunk,
                            "LinearAttentionBackward");
}

}  // namespace flopwise::kernels::cuda
