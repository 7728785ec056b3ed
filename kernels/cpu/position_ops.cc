#include "kernels/cpu/position_ops.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace flopwise::kernels::cpu {
namespace {

// cos/sin tables [seq, D/2] of the RoPE angles (pos_offset + t)·base^(-2c/D), in T.
template <typename T>
void RopeTables(T* cos_table, T* sin_table, int seq, int head_dim, int pos_offset, T base) {
  const int half = head_dim / 2;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < seq; ++t) {
    for (int c = 0; c < half; ++c) {
      const T freq = T(1) / std::pow(base, T(2 * c) / T(head_dim));
      const T angle = T(pos_offset + t) * freq;
      cos_table[static_cast<int64_t>(t) * half + c] = std::cos(angle);
      sin_table[static_cast<int64_t>(t) * half + c] = std::sin(angle);
    }
  }
}

// cos/sin tables [seq, H, D] of the LRPE angles (pos_offset + t)·θ[h,c], in T.
template <typename T>
void LrpeTables(T* cos_table, T* sin_table, const T* theta, int seq, int heads, int head_dim,
                int pos_offset) {
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < seq; ++t) {
    const T position = T(pos_offset + t);
    for (int64_t e = 0; e < width; ++e) {
      const T angle = position * theta[e];
      cos_table[t * width + e] = std::cos(angle);
      sin_table[t * width + e] = std::sin(angle);
    }
  }
}

constexpr int kTpeChannelBlock = 32;

// Rotates each (x[c], x[c + D/2]) pair by the RoPE angle times `direction`:
// +1 is the forward rotation, -1 its inverse (the backward of a rotation is
// the rotation by minus the angle). In place allowed (out == inp).
template <typename T>
void RopeRotate(T* out, const T* inp, T direction, int batch, int seq, int heads, int head_dim,
                int pos_offset, T base, Scratch<T>& scratch) {
  const int half = head_dim / 2;
  T* cos_table = scratch.Get(2 * static_cast<int64_t>(seq) * half);
  T* sin_table = cos_table + static_cast<int64_t>(seq) * half;
  RopeTables(cos_table, sin_table, seq, head_dim, pos_offset, base);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < static_cast<int64_t>(batch) * seq; ++r) {
    const int t = static_cast<int>(r % seq);
    const T* cs = cos_table + static_cast<int64_t>(t) * half;
    const T* sn = sin_table + static_cast<int64_t>(t) * half;
    for (int h = 0; h < heads; ++h) {
      const int64_t o = (r * heads + h) * head_dim;
      for (int c = 0; c < half; ++c) {
        const T x1 = inp[o + c];
        const T x2 = inp[o + half + c];
        const T y1 = x1 * cs[c] - (direction * x2) * sn[c];
        const T y2 = x2 * cs[c] + (direction * x1) * sn[c];
        out[o + c] = y1;
        out[o + half + c] = y2;
      }
    }
  }
}

}  // namespace

template <typename T>
void RopeForward(T* out, const T* inp, int batch, int seq, int heads, int head_dim, int pos_offset,
                 T base, Scratch<T>& scratch) {
  RopeRotate(out, inp, T(1), batch, seq, heads, head_dim, pos_offset, base, scratch);
}

template <typename T>
void RopeBackward(T* dinp, const T* dout, int batch, int seq, int heads, int head_dim,
                  int pos_offset, T base, Scratch<T>& scratch) {
  RopeRotate(dinp, dout, T(-1), batch, seq, heads, head_dim, pos_offset, base, scratch);
}

template <typename T>
void LrpeForward(T* out, const T* inp, const T* theta, int batch, int seq, int heads, int head_dim,
                 int pos_offset, Scratch<T>& scratch) {
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
  T* cos_table = scratch.Get(2 * seq * width);
  T* sin_table = cos_table + seq * width;
  LrpeTables(cos_table, sin_table, theta, seq, heads, head_dim, pos_offset);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < static_cast<int64_t>(batch) * seq; ++r) {
    const int64_t t = r % seq;
    for (int h = 0; h < heads; ++h) {
      const T* x = inp + r * width + static_cast<int64_t>(h) * head_dim;
      const T* cs = cos_table + t * width + static_cast<int64_t>(h) * head_dim;
      const T* sn = sin_table + t * width + static_cast<int64_t>(h) * head_dim;
      T* y = out + 2 * (r * width + static_cast<int64_t>(h) * head_dim);
      for (int c = 0; c < head_dim; ++c) {
        y[c] = x[c] * cs[c];
        y[head_dim + c] = x[c] * sn[c];
      }
    }
  }
}

template <typename T>
void LrpeBackward(T* dinp, T* dtheta, const T* dout, const T* inp, const T* theta, int batch,
                  int seq, int heads, int head_dim, int pos_offset, Scratch<T>& scratch) {
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
  const int max_threads = omp_get_max_threads();
  T* cos_table = scratch.Get(2 * seq * width + max_threads * width);
  T* sin_table = cos_table + seq * width;
  T* partial = sin_table + seq * width;
  LrpeTables(cos_table, sin_table, theta, seq, heads, head_dim, pos_offset);
#pragma omp parallel
  {
    T* my_dtheta = partial + omp_get_thread_num() * width;
    std::fill_n(my_dtheta, width, T(0));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < static_cast<int64_t>(batch) * seq; ++r) {
      const int64_t t = r % seq;
      const T position = T(pos_offset + t);
      for (int64_t e = 0; e < width; ++e) {
        const int64_t h = e / head_dim;
        const int64_t c = e % head_dim;
        const T* g = dout + 2 * (r * width + h * head_dim);
        const T cs = cos_table[t * width + e];
        const T sn = sin_table[t * width + e];
        const T x = inp[r * width + e];
        dinp[r * width + e] = cs * g[c] + sn * g[head_dim + c];
        my_dtheta[e] += position * x * (cs * g[head_dim + c] - sn * g[c]);
      }
    }
  }
  if (dtheta != nullptr) {
    for (int t = 0; t < max_threads; ++t) {
      for (int64_t e = 0; e < width; ++e) dtheta[e] += partial[t * width + e];
    }
  }
}

template <typename T>
void TpeForward(T* out, const T* inp, const T* b_weight, const T* log_gamma, int batch, int seq,
                int dim, int tpe_dim, Scratch<T>& scratch) {
  const int e = tpe_dim;
  const int64_t per_thread = static_cast<int64_t>(kTpeChannelBlock) * e + e;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  const int blocks = (dim + kTpeChannelBlock - 1) / kTpeChannelBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int blk = 0; blk < blocks; ++blk) {
    T* state = base + per_thread * omp_get_thread_num();  // [block, e]
    T* gamma = state + static_cast<int64_t>(kTpeChannelBlock) * e;
    for (int j = 0; j < e; ++j) gamma[j] = std::exp(log_gamma[j]);
    const int c0 = blk * kTpeChannelBlock;
    const int c1 = std::min(dim, c0 + kTpeChannelBlock);
    for (int b = 0; b < batch; ++b) {
      std::fill_n(state, static_cast<int64_t>(kTpeChannelBlock) * e, T(0));
      for (int t = 0; t < seq; ++t) {
        const int64_t row = (static_cast<int64_t>(b) * seq + t) * dim;
        for (int c = c0; c < c1; ++c) {
          T* h = state + static_cast<int64_t>(c - c0) * e;
          const T* bw = b_weight + static_cast<int64_t>(c) * e;
          const T x = inp[row + c];
          T y = 0;
          for (int j = 0; j < e; ++j) {
            h[j] = gamma[j] * h[j] + bw[j] * x;
            y += h[j];
          }
          out[row + c] = x + y;
        }
      }
    }
  }
}

template <typename T>
void TpeBackward(T* dinp, T* db_weight, const T* dout, const T* inp, const T* b_weight,
                 const T* log_gamma, int batch, int seq, int dim, int tpe_dim,
                 Scratch<T>& scratch) {
  const int e = tpe_dim;
  const int64_t per_thread = static_cast<int64_t>(kTpeChannelBlock) * e + e;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  const int blocks = (dim + kTpeChannelBlock - 1) / kTpeChannelBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int blk = 0; blk < blocks; ++blk) {
    T* rev = base + per_thread * omp_get_thread_num();  // r_τ [block, e]
    T* gamma = rev + static_cast<int64_t>(kTpeChannelBlock) * e;
    for (int j = 0; j < e; ++j) gamma[j] = std::exp(log_gamma[j]);
    const int c0 = blk * kTpeChannelBlock;
    const int c1 = std::min(dim, c0 + kTpeChannelBlock);
    for (int b = 0; b < batch; ++b) {
      std::fill_n(rev, static_cast<int64_t>(kTpeChannelBlock) * e, T(0));
      for (int t = seq - 1; t >= 0; --t) {
        const int64_t row = (static_cast<int64_t>(b) * seq + t) * dim;
        for (int c = c0; c < c1; ++c) {
          T* r = rev + static_cast<int64_t>(c - c0) * e;
          const T* bw = b_weight + static_cast<int64_t>(c) * e;
          const T g = dout[row + c];
          const T x = inp[row + c];
          T dx = g;  // identity path
          for (int j = 0; j < e; ++j) {
            r[j] = g + gamma[j] * r[j];
            dx += bw[j] * r[j];
          }
          dinp[row + c] += dx;
          if (db_weight != nullptr) {
            T* db = db_weight + static_cast<int64_t>(c) * e;
            for (int j = 0; j < e; ++j) db[j] += r[j] * x;
          }
        }
      }
    }
  }
}

#define FLOPWISE_INSTANTIATE_POSITION(T)                                                           \
  template void RopeForward<T>(T*, const T*, int, int, int, int, int, T, Scratch<T>&);             \
  template void RopeBackward<T>(T*, const T*, int, int, int, int, int, T, Scratch<T>&);            \
  template void LrpeForward<T>(T*, const T*, const T*, int, int, int, int, int, Scratch<T>&);      \
  template void LrpeBackward<T>(T*, T*, const T*, const T*, const T*, int, int, int, int, int,     \
                                Scratch<T>&);                                                      \
  template void TpeForward<T>(T*, const T*, const T*, const T*, int, int, int, int, Scratch<T>&);  \
  template void TpeBackward<T>(T*, T*, const T*, const T*, const T*, const T*, int, int, int, int, \
                               Scratch<T>&);

FLOPWISE_INSTANTIATE_POSITION(float)
FLOPWISE_INSTANTIATE_POSITION(double)

}  // namespace flopwise::kernels::cpu
