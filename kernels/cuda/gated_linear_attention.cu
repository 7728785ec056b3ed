// The kernels are in kernels/cuda/chunked_recurrence.cu (shared with the
// scalar-decay linear attention).
#include "kernels/cuda/gated_linear_attention.h"

#include "kernels/cuda/chunked_recurrence.h"

namespace flopwise::kernels::cuda {

void GatedLinearAttentionForward(const Context& ctx, float* out, float* final_state, const float* q,
                                 const float* k, const float* v, const float* log_decay,
                                 const float* initial_state, int batch, int seq, int heads,
                                 int key_dim, int value_dim, int chunk) {
  ChunkedRecurrenceForward(ctx, out, final_state, q, k, v, LogDecay{log_decay, /*per_head=*/false},
                           initial_state, batch, seq, heads, key_dim, value_dim, chunk,
                           "GatedLinearAttentionForward");
}

void GatedLinearAttentionBackward(const Context& ctx, float* dq, float* dk, float* dv,
                                  float* dlog_decay, float* dinitial_state, const float* dout,
                                  const float* dfinal_state, const float* q, const float* k,
                                  const float* v, const float* log_decay,
                                  const float* initial_state, int batch, int seq, int heads,
                                  int key_dim, int value_dim, int chunk) {
  ChunkedRecurrenceBackward(ctx, dq, dk, dv, dlog_decay, dinitial_state, dout, dfinal_state, q, k,
                            v, LogDecay{log_decay, /*per_head=*/false}, initial_state, batch, seq,
                            heads, key_dim, value_dim, chunk, "GatedLinearAttentionBackward");
}

}  // namespace flopwise::kernels::cuda
