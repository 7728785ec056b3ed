// kernels_bench [batch seq d_model heads vocab threads chunk]: wall time of each
// CPU-backend op (forward and backward) at one layer shape, median of 5 runs.
// Defaults: the cpu-3 preset at 8192 tokens per step.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace {

using flopwise::kernels::Backend;

double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// Median over 5 runs of wall time and of process CPU time (the latter is the
// stable figure on a shared machine when threads = 1).
std::pair<double, double> MedianMs(const std::function<void()>& op) {
  op();  // warm-up: sizes scratch, faults pages in
  std::vector<double> wall, cpu;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = CpuMs();
    op();
    cpu.push_back(CpuMs() - cpu_start);
    wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[2], cpu[2]};
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, int fallback) { return argc > i ? std::atoi(argv[i]) : fallback; };
  const int batch = arg(1, 32), seq = arg(2, 256), d = arg(3, 128), heads = arg(4, 4),
            vocab = arg(5, 50304), threads = arg(6, 0), chunk = arg(7, 64);
  const int head_dim = d / heads;
  const int n = batch * seq;
  const int64_t nd = static_cast<int64_t>(n) * d;
  std::unique_ptr<Backend> be = flopwise::kernels::MakeCpuBackend(threads);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto make = [&](int64_t count, float scale) {
    std::vector<float> host(static_cast<size_t>(count));
    for (float& x : host) x = normal(rng) * scale;
    float* dev = be->AllocateFloats(count);
    be->CopyFromHost(dev, host.data(), count * 4);
    return dev;
  };
  float* q = make(2 * nd, 0.5f);
  float* k = make(2 * nd, 0.5f);
  float* v = make(nd, 1.f);
  float* dout = make(nd, 1.f);
  float* out = make(2 * nd, 0.f);
  float* g1 = make(2 * nd, 0.f);
  float* g2 = make(2 * nd, 0.f);
  float* g3 = make(2 * nd, 0.f);
  float* g4 = make(nd, 0.f);
  float* w = make(static_cast<int64_t>(d) * d, 0.02f);
  float* dw = make(static_cast<int64_t>(d) * d, 0.f);
  float* lse = make(static_cast<int64_t>(n) * heads, 0.f);
  float* log_decay = make(heads, 0.f);
  float* log_f = make(nd, 0.f);
  float* theta = make(d, 0.01f);
  float* embed = make(static_cast<int64_t>(vocab) * d, 0.02f);
  float* dembed = make(static_cast<int64_t>(vocab) * d, 0.f);
  float* losses = make(n, 0.f);
  std::vector<int32_t> host_targets(n);
  for (int i = 0; i < n; ++i) host_targets[i] = static_cast<int32_t>(rng() % vocab);
  auto* targets = static_cast<int32_t*>(be->Allocate(n * 4));
  be->CopyFromHost(targets, host_targets.data(), n * 4);
  {
    std::vector<float> decay(heads), lf(nd);
    for (int h = 0; h < heads; ++h) decay[h] = -std::pow(2.f, -8.f * (h + 1) / heads);
    for (float& x : lf) x = -std::abs(normal(rng)) * 0.3f;
    be->CopyFromHost(log_decay, decay.data(), heads * 4);
    be->CopyFromHost(log_f, lf.data(), nd * 4);
  }
  std::printf("shape: batch %d seq %d d %d heads %d vocab %d threads %d chunk %d (%d tokens)\n",
              batch, seq, d, heads, vocab, be->threads(), chunk, n);
  struct Row {
    std::string name;
    std::function<void()> forward, backward;
  };
  std::vector<Row> rows = {
      {"matmul d×d", [&] { be->MatmulForward(out, q, w, n, d, d); },
       [&] { be->MatmulBackward(g1, dw, dout, q, w, n, d, d); }},
      {"rmsnorm", [&] { be->RmsNormForward(out, lse, q, nullptr, n, d, 1e-6f); },
       [&] { be->RmsNormBackward(g1, nullptr, dout, q, nullptr, lse, n, d); }},
      {"silu", [&] { be->SiluForward(out, q, nd); }, [&] { be->SiluBackward(g1, dout, q, nd); }},
      {"rope", [&] { be->RopeForward(out, q, batch, seq, heads, head_dim, 0, 10000.f); },
       [&] { be->RopeBackward(g1, dout, batch, seq, heads, head_dim, 0, 10000.f); }},
      {"softmax attention",
       [&] { be->AttentionForward(out, lse, q, k, v, batch, seq, heads, head_dim); },
       [&] {
         be->AttentionBackward(g1, g2, g3, dout, q, k, v, out, lse, batch, seq, heads, head_dim);
       }},
      {"linear attention (tnl)",
       [&] {
         be->LinearAttentionForward(out, nullptr, q, k, v, log_decay, nullptr, batch, seq, heads,
                                    head_dim, head_dim, chunk);
       },
       [&] {
         be->LinearAttentionBackward(g1, g2, g3, nullptr, dout, nullptr, q, k, v, log_decay,
                                     nullptr, batch, seq, heads, head_dim, head_dim, chunk);
       }},
      {"lrpe", [&] { be->LrpeForward(out, q, theta, batch, seq, heads, head_dim, 0); },
       [&] { be->LrpeBackward(g4, g1, dout, q, theta, batch, seq, heads, head_dim, 0); }},
      {"linear attention (cos2, 2D keys)",
       [&] {
         be->LinearAttentionForward(out, nullptr, q, k, v, nullptr, nullptr, batch, seq, heads,
                                    2 * head_dim, head_dim, chunk);
       },
       [&] {
         be->LinearAttentionBackward(g1, g2, g3, nullptr, dout, nullptr, q, k, v, nullptr, nullptr,
                                     batch, seq, heads, 2 * head_dim, head_dim, chunk);
       }},
      {"gated linear attention (hgrn2)",
       [&] {
         be->GatedLinearAttentionForward(out, nullptr, q, k, v, log_f, nullptr, batch, seq, heads,
                                         head_dim, head_dim, chunk);
       },
       [&] {
         be->GatedLinearAttentionBackward(g1, g2, g3, g4, nullptr, dout, nullptr, q, k, v, log_f,
                                          nullptr, batch, seq, heads, head_dim, head_dim, chunk);
       }},
      {"classifier (fwd+bwd fused)", [] {},
       [&] {
         be->ClassifierForwardBackward(losses, g4, dembed, v, embed, targets, n, d, vocab, vocab,
                                       1.f / n);
       }},
  };
  std::printf("%-34s %12s %12s %12s %12s\n", "op", "fwd wall ms", "fwd cpu ms", "bwd wall ms",
              "bwd cpu ms");
  for (const Row& row : rows) {
    const auto [fwd_wall, fwd_cpu] = MedianMs(row.forward);
    const auto [bwd_wall, bwd_cpu] = MedianMs(row.backward);
    std::printf("%-34s %12.2f %12.2f %12.2f %12.2f\n", row.name.c_str(), fwd_wall, fwd_cpu,
                bwd_wall, bwd_cpu);
  }
  return 0;
}
