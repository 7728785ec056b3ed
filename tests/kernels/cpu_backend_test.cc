// The float CPU backend against the double kernels it instantiates: checks
// the forwarding of every argument and the fp32 error budget.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/classifier.h"
#include "kernels/cpu/dense_ops.h"
#include "kernels/cpu/gated_linear_attention.h"
#include "kernels/cpu/hgrn2_gate.h"
#include "kernels/cpu/linear_attention.h"
#include "kernels/cpu/position_ops.h"
#include "kernels/cpu/scratch.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels {
namespace {

using testing::RandomNormal;
using testing::RandomSiluNormal;
using testing::RelativeError;

std::vector<float> ToFloat(const std::vector<double>& x) { return {x.begin(), x.end()}; }

class CpuBackendTest : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> backend_ = MakeCpuBackend(2);
};

TEST_F(CpuBackendTest, ReportsItself) {
  EXPECT_EQ(backend_->name(), "cpu");
  EXPECT_EQ(backend_->threads(), 2);
  EXPECT_GE(backend_->PreferredChunk(true), 1);
  EXPECT_GE(backend_->PreferredChunk(false), 1);
  float* buf = backend_->AllocateFloats(100);
  ASSERT_NE(buf, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf) % 64, 0u);
  backend_->Zero(buf, 400);
  const std::vector<float> host = {1.f, 2.f, 3.f};
  backend_->CopyFromHost(buf + 10, host.data(), 12);
  std::vector<float> back(3);
  backend_->CopyToHost(back.data(), buf + 10, 12);
  EXPECT_EQ(back, host);
  EXPECT_EQ(buf[0], 0.f);
  backend_->Free(buf);
}

TEST_F(CpuBackendTest, LinearAttentionsMatchDoubleKernels) {
  const int batch = 2, seq = 150, heads = 2, d = 32;
  const int64_t n = static_cast<int64_t>(batch) * seq * heads * d;
  const std::vector<double> q = RandomSiluNormal(n, 1), k = RandomSiluNormal(n, 2),
                            v = RandomNormal(n, 3), g = RandomNormal(n, 4);
  std::vector<double> a = RandomNormal(n, 5, 0.3);
  for (double& x : a) x = -std::abs(x);
  const std::vector<double> log_decay = {-0.5, -0.01};
  cpu::Scratch<double> scratch;
  // scalar decay
  std::vector<double> out(n), dq(n, 0.0), dk(n, 0.0), dv(n, 0.0), da(n, 0.0);
  cpu::LinearAttentionForward<double>(out.data(), nullptr, q.data(), k.data(), v.data(),
                                      log_decay.data(), nullptr, batch, seq, heads, d, d, 64,
                                      scratch);
  cpu::LinearAttentionBackward<double>(dq.data(), dk.data(), dv.data(), nullptr, g.data(), nullptr,
                                       q.data(), k.data(), v.data(), log_decay.data(), nullptr,
                                       batch, seq, heads, d, d, 64, scratch);
  std::vector<float> qf = ToFloat(q), kf = ToFloat(k), vf = ToFloat(v), gf = ToFloat(g),
                     af = ToFloat(a), ldf = ToFloat(log_decay);
  std::vector<float> outf(n), dqf(n, 0.f), dkf(n, 0.f), dvf(n, 0.f), daf(n, 0.f);
  backend_->LinearAttentionForward(outf.data(), nullptr, qf.data(), kf.data(), vf.data(),
                                   ldf.data(), nullptr, batch, seq, heads, d, d, 64);
  backend_->LinearAttentionBackward(dqf.data(), dkf.data(), dvf.data(), nullptr, gf.data(), nullptr,
                                    qf.data(), kf.data(), vf.data(), ldf.data(), nullptr, batch,
                                    seq, heads, d, d, 64);
  EXPECT_LE(RelativeError(outf, out), 1e-5);
  EXPECT_LE(RelativeError(dqf, dq), 1e-5);
  EXPECT_LE(RelativeError(dkf, dk), 1e-5);
  EXPECT_LE(RelativeError(dvf, dv), 1e-5);
  // vector decay
  std::fill(dq.begin(), dq.end(), 0.0);
  std::fill(dk.begin(), dk.end(), 0.0);
  std::fill(dv.begin(), dv.end(), 0.0);
  std::fill(dqf.begin(), dqf.end(), 0.f);
  std::fill(dkf.begin(), dkf.end(), 0.f);
  std::fill(dvf.begin(), dvf.end(), 0.f);
  cpu::GatedLinearAttentionForward<double>(out.data(), nullptr, q.data(), k.data(), v.data(),
                                           a.data(), nullptr, batch, seq, heads, d, d, 64, scratch);
  cpu::GatedLinearAttentionBackward<double>(
      dq.data(), dk.data(), dv.data(), da.data(), nullptr, g.data(), nullptr, q.data(), k.data(),
      v.data(), a.data(), nullptr, batch, seq, heads, d, d, 64, scratch);
  backend_->GatedLinearAttentionForward(outf.data(), nullptr, qf.data(), kf.data(), vf.data(),
                                        af.data(), nullptr, batch, seq, heads, d, d, 64);
  backend_->GatedLinearAttentionBackward(dqf.data(), dkf.data(), dvf.data(), daf.data(), nullptr,
                                         gf.data(), nullptr, qf.data(), kf.data(), vf.data(),
                                         af.data(), nullptr, batch, seq, heads, d, d, 64);
  EXPECT_LE(RelativeError(outf, out), 1e-5);
  EXPECT_LE(RelativeError(dqf, dq), 1e-5);
  EXPECT_LE(RelativeError(dkf, dk), 1e-5);
  EXPECT_LE(RelativeError(dvf, dv), 1e-5);
  EXPECT_LE(RelativeError(daf, da), 1e-4);
}

TEST_F(CpuBackendTest, AttentionMatchesDoubleKernel) {
  const int batch = 2, seq = 100, heads = 2, d = 16;
  const int64_t n = static_cast<int64_t>(batch) * seq * heads * d;
  const std::vector<double> q = RandomNormal(n, 1), k = RandomNormal(n, 2), v = RandomNormal(n, 3),
                            g = RandomNormal(n, 4);
  cpu::Scratch<double> scratch;
  std::vector<double> out(n), lse(batch * heads * seq), dq(n, 0.0), dk(n, 0.0), dv(n, 0.0);
  cpu::AttentionForward<double>(out.data(), lse.data(), q.data(), k.data(), v.data(), batch, seq,
                                heads, d, scratch);
  cpu::AttentionBackward<double>(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(),
                                 v.data(), out.data(), lse.data(), batch, seq, heads, d, scratch);
  std::vector<float> qf = ToFloat(q), kf = ToFloat(k), vf = ToFloat(v), gf = ToFloat(g);
  std::vector<float> outf(n), lsef(lse.size()), dqf(n, 0.f), dkf(n, 0.f), dvf(n, 0.f);
  backend_->AttentionForward(outf.data(), lsef.data(), qf.data(), kf.data(), vf.data(), batch, seq,
                             heads, d);
  backend_->AttentionBackward(dqf.data(), dkf.data(), dvf.data(), gf.data(), qf.data(), kf.data(),
                              vf.data(), outf.data(), lsef.data(), batch, seq, heads, d);
  EXPECT_LE(RelativeError(outf, out), 1e-5);
  EXPECT_LE(RelativeError(lsef, lse), 1e-6);
  EXPECT_LE(RelativeError(dqf, dq), 1e-5);
  EXPECT_LE(RelativeError(dkf, dk), 1e-5);
  EXPECT_LE(RelativeError(dvf, dv), 1e-5);
}

TEST_F(CpuBackendTest, ClassifierOverSeveralSlicesMatchesDoubleKernel) {
  // vocab 100280 padded to 100352: 83 rows per slice, so 200 rows take three slices.
  const int rows = 200, dim = 8, vocab = 100280, padded = 100352;
  const std::vector<double> x = RandomNormal(rows * dim, 1);
  const std::vector<double> embed = RandomNormal(static_cast<int64_t>(padded) * dim, 2, 0.3);
  std::vector<int32_t> targets(rows);
  for (int r = 0; r < rows; ++r) targets[r] = (r * 7919) % vocab;
  const double scale = 1.0 / rows;
  cpu::Scratch<double> scratch;
  std::vector<double> losses(rows), dx(x.size(), 0.0), dembed(embed.size(), 0.0);
  cpu::ClassifierForwardBackward<double>(losses.data(), dx.data(), dembed.data(), x.data(),
                                         embed.data(), targets.data(), rows, dim, vocab, scale,
                                         scratch);
  std::vector<float> xf = ToFloat(x), ef = ToFloat(embed);
  std::vector<float> lossesf(rows), dxf(x.size(), 0.f), def(embed.size(), 0.f);
  backend_->ClassifierForwardBackward(lossesf.data(), dxf.data(), def.data(), xf.data(), ef.data(),
                                      targets.data(), rows, dim, vocab, padded,
                                      static_cast<float>(scale));
  EXPECT_LE(RelativeError(lossesf, losses), 1e-6);
  EXPECT_LE(RelativeError(dxf, dx), 1e-5);
  EXPECT_LE(RelativeError(def, dembed), 1e-5);
  // Loss near ln(vocab) for small logits (sanity of the whole row sum).
  EXPECT_NEAR(lossesf[0], std::log(static_cast<double>(vocab)), 1.0);
}

TEST_F(CpuBackendTest, NormsAndElementwiseForward) {
  const int rows = 3, dim = 5;
  const std::vector<float> x = ToFloat(RandomNormal(rows * dim, 1));
  const std::vector<float> w = {1.f, 2.f, 0.5f, 1.f, 3.f};
  std::vector<float> y(rows * dim), rstd(rows);
  backend_->RmsNormForward(y.data(), rstd.data(), x.data(), w.data(), rows, dim, 1e-6f);
  double ms = 0;
  for (int c = 0; c < dim; ++c) ms += x[c] * x[c];
  EXPECT_NEAR(y[4], x[4] * 3.0 / std::sqrt(ms / dim + 1e-6), 1e-5);
  std::vector<float> s(rows * dim);
  backend_->SiluForward(s.data(), x.data(), rows * dim);
  EXPECT_NEAR(s[2], x[2] / (1 + std::exp(-x[2])), 1e-6);
  EXPECT_NEAR(backend_->SumOfSquares(x.data(), dim), ms, 1e-5);
}

// Each remaining op through the virtual interface against its double kernel:
// catches a swapped argument in the forwarding layer.
TEST_F(CpuBackendTest, PositionOpsMatchDoubleKernels) {
  const int batch = 2, seq = 7, heads = 2, d = 4, dim = heads * d, e = 3;
  const int64_t n = static_cast<int64_t>(batch) * seq * dim;
  const std::vector<double> x = RandomNormal(n, 1), g = RandomNormal(2 * n, 2),
                            theta = RandomNormal(dim, 3, 0.3), b = RandomNormal(dim * e, 4),
                            log_gamma = {-0.1, -0.5, -2.0};
  const std::vector<float> xf = ToFloat(x), gf = ToFloat(g), thetaf = ToFloat(theta),
                           bf = ToFloat(b), lgf = ToFloat(log_gamma);
  cpu::Scratch<double> scratch;
  std::vector<double> y(2 * n), dx(n, 0.0), dp(dim * e, 0.0);
  std::vector<float> yf(2 * n), dxf(n, 0.f), dpf(dim * e, 0.f);

  cpu::RopeForward<double>(y.data(), x.data(), batch, seq, heads, d, 5, 10000.0, scratch);
  cpu::RopeBackward<double>(dx.data(), g.data(), batch, seq, heads, d, 5, 10000.0, scratch);
  backend_->RopeForward(yf.data(), xf.data(), batch, seq, heads, d, 5, 10000.f);
  backend_->RopeBackward(dxf.data(), gf.data(), batch, seq, heads, d, 5, 10000.f);
  EXPECT_LE(RelativeError(std::vector<float>(yf.begin(), yf.begin() + n),
                          std::vector<double>(y.begin(), y.begin() + n)),
            1e-6);
  EXPECT_LE(RelativeError(dxf, dx), 1e-6);

  std::fill(dx.begin(), dx.end(), 0.0);
  std::fill(dxf.begin(), dxf.end(), 0.f);
  std::vector<double> dtheta(dim, 0.0);
  std::vector<float> dthetaf(dim, 0.f);
  cpu::LrpeForward<double>(y.data(), x.data(), theta.data(), batch, seq, heads, d, 3, scratch);
  cpu::LrpeBackward<double>(dx.data(), dtheta.data(), g.data(), x.data(), theta.data(), batch, seq,
                            heads, d, 3, scratch);
  backend_->LrpeForward(yf.data(), xf.data(), thetaf.data(), batch, seq, heads, d, 3);
  backend_->LrpeBackward(dxf.data(), dthetaf.data(), gf.data(), xf.data(), thetaf.data(), batch,
                         seq, heads, d, 3);
  EXPECT_LE(RelativeError(yf, y), 1e-6);
  EXPECT_LE(RelativeError(dxf, dx), 1e-6);
  EXPECT_LE(RelativeError(dthetaf, dtheta), 1e-5);

  std::fill(dx.begin(), dx.end(), 0.0);
  std::fill(dxf.begin(), dxf.end(), 0.f);
  cpu::TpeForward<double>(y.data(), x.data(), b.data(), log_gamma.data(), batch, seq, dim, e,
                          scratch);
  cpu::TpeBackward<double>(dx.data(), dp.data(), g.data(), x.data(), b.data(), log_gamma.data(),
                           batch, seq, dim, e, scratch);
  backend_->TpeForward(yf.data(), xf.data(), bf.data(), lgf.data(), batch, seq, dim, e);
  backend_->TpeBackward(dxf.data(), dpf.data(), gf.data(), xf.data(), bf.data(), lgf.data(), batch,
                        seq, dim, e);
  EXPECT_LE(RelativeError(std::vector<float>(yf.begin(), yf.begin() + n),
                          std::vector<double>(y.begin(), y.begin() + n)),
            1e-6);
  EXPECT_LE(RelativeError(dxf, dx), 1e-6);
  EXPECT_LE(RelativeError(dpf, dp), 1e-6);
}

TEST_F(CpuBackendTest, DenseOpsMatchDoubleKernels) {
  const int rows = 6, in_dim = 5, out_dim = 3, vocab = 4;
  const std::vector<double> x = RandomNormal(rows * in_dim, 1),
                            w = RandomNormal(out_dim * in_dim, 2),
                            g = RandomNormal(rows * in_dim, 3), gain = RandomNormal(in_dim, 4);
  const std::vector<float> xf = ToFloat(x), wf = ToFloat(w), gf = ToFloat(g), gainf = ToFloat(gain);
  // matmul
  std::vector<double> y(rows * out_dim), dx(x.size(), 0.0), dw(w.size(), 0.0);
  std::vector<float> yf(y.size()), dxf(x.size(), 0.f), dwf(w.size(), 0.f);
  cpu::MatmulForward<double>(y.data(), x.data(), w.data(), rows, in_dim, out_dim);
  cpu::MatmulBackward<double>(dx.data(), dw.data(), g.data(), x.data(), w.data(), rows, in_dim,
                              out_dim);
  backend_->MatmulForward(yf.data(), xf.data(), wf.data(), rows, in_dim, out_dim);
  backend_->MatmulBackward(dxf.data(), dwf.data(), gf.data(), xf.data(), wf.data(), rows, in_dim,
                           out_dim);
  EXPECT_LE(RelativeError(yf, y), 1e-6);
  EXPECT_LE(RelativeError(dxf, dx), 1e-6);
  EXPECT_LE(RelativeError(dwf, dw), 1e-6);
  // RMSNorm with gain, backward
  cpu::Scratch<double> scratch;
  std::vector<double> norm(x.size()), rstd(rows), dgain(in_dim, 0.0);
  std::vector<float> normf(x.size()), rstdf(rows), dgainf(in_dim, 0.f);
  std::fill(dx.begin(), dx.end(), 0.0);
  std::fill(dxf.begin(), dxf.end(), 0.f);
  cpu::RmsNormForward<double>(norm.data(), rstd.data(), x.data(), gain.data(), rows, in_dim, 1e-6);
  cpu::RmsNormBackward<double>(dx.data(), dgain.data(), g.data(), x.data(), gain.data(),
                               rstd.data(), rows, in_dim, scratch);
  backend_->RmsNormForward(normf.data(), rstdf.data(), xf.data(), gainf.data(), rows, in_dim,
                           1e-6f);
  backend_->RmsNormBackward(dxf.data(), dgainf.data(), gf.data(), xf.data(), gainf.data(),
                            rstdf.data(), rows, in_dim);
  EXPECT_LE(RelativeError(normf, norm), 1e-6);
  EXPECT_LE(RelativeError(dxf, dx), 1e-5);
  EXPECT_LE(RelativeError(dgainf, dgain), 1e-5);
  // embedding
  const std::vector<int32_t> tokens = {1, 3, 1, 0, 2, 3};
  std::vector<float> table = ToFloat(RandomNormal(vocab * in_dim, 5)), rowsf(rows * in_dim),
                     dtable(vocab * in_dim, 0.f);
  backend_->EmbeddingForward(rowsf.data(), tokens.data(), table.data(), rows, in_dim);
  EXPECT_EQ(rowsf[2 * in_dim + 4], table[1 * in_dim + 4]);
  backend_->EmbeddingBackward(dtable.data(), gf.data(), tokens.data(), rows, in_dim);
  EXPECT_FLOAT_EQ(dtable[3 * in_dim], gf[1 * in_dim] + gf[5 * in_dim]);
  // element-wise backwards: du, dv land in the right outputs
  std::vector<double> du(x.size(), 0.0), dv(x.size(), 0.0);
  std::vector<float> duf(x.size(), 0.f), dvf(x.size(), 0.f);
  cpu::SwigluBackward<double>(du.data(), dv.data(), g.data(), x.data(), norm.data(), x.size());
  backend_->SwigluBackward(duf.data(), dvf.data(), gf.data(), xf.data(), normf.data(), x.size());
  cpu::SigmoidGateBackward<double>(du.data(), dv.data(), g.data(), x.data(), norm.data(), x.size());
  backend_->SigmoidGateBackward(duf.data(), dvf.data(), gf.data(), xf.data(), normf.data(),
                                x.size());
  cpu::GluBackward<double>(du.data(), dv.data(), g.data(), x.data(), norm.data(), x.size());
  backend_->GluBackward(duf.data(), dvf.data(), gf.data(), xf.data(), normf.data(), x.size());
  EXPECT_LE(RelativeError(duf, du), 1e-5);
  EXPECT_LE(RelativeError(dvf, dv), 1e-5);
  // AdamW
  std::vector<double> p = x, m(x.size(), 0.0), v(x.size(), 0.0);
  std::vector<float> pf = xf, mf(x.size(), 0.f), vf(x.size(), 0.f);
  cpu::AdamWUpdate<double>(p.data(), g.data(), m.data(), v.data(), x.size(), 1e-2, 0.9, 0.95, 1e-8,
                           0.1, 3, 0.5);
  backend_->AdamWUpdate(pf.data(), gf.data(), mf.data(), vf.data(), x.size(), 1e-2f, 0.9f, 0.95f,
                        1e-8f, 0.1f, 3, 0.5f);
  EXPECT_LE(RelativeError(pf, p), 1e-6);
  EXPECT_LE(RelativeError(vf, v), 1e-6);
}

TEST_F(CpuBackendTest, Hgrn2GateOpsMatchDoubleKernels) {
  const int layers = 3, rows = 5, dim = 4;
  const std::vector<double> p = RandomNormal(layers * dim, 1),
                            phi = RandomNormal(rows * dim, 2, 3.0),
                            g1 = RandomNormal(rows * dim, 3), g2 = RandomNormal(rows * dim, 4),
                            glb = RandomNormal(layers * dim, 5);
  const std::vector<float> pf = ToFloat(p), phif = ToFloat(phi), g1f = ToFloat(g1),
                           g2f = ToFloat(g2), glbf = ToFloat(glb);
  std::vector<double> lb(layers * dim), dp(layers * dim, 0.0);
  std::vector<float> lbf(layers * dim), dpf(layers * dim, 0.f);
  cpu::Hgrn2LowerBoundForward<double>(lb.data(), p.data(), layers, dim);
  cpu::Hgrn2LowerBoundBackward<double>(dp.data(), glb.data(), p.data(), layers, dim);
  backend_->Hgrn2LowerBoundForward(lbf.data(), pf.data(), layers, dim);
  backend_->Hgrn2LowerBoundBackward(dpf.data(), glbf.data(), pf.data(), layers, dim);
  EXPECT_LE(RelativeError(lbf, lb), 1e-6);
  EXPECT_LE(RelativeError(dpf, dp), 1e-5);
  const double* lb1 = lb.data() + dim;  // layer 1: LB > 0
  const float* lb1f = lbf.data() + dim;
  std::vector<double> log_f(rows * dim), k(rows * dim), dphi(rows * dim, 0.0), dlb(dim, 0.0);
  std::vector<float> log_ff(rows * dim), kf(rows * dim), dphif(rows * dim, 0.f), dlbf(dim, 0.f);
  cpu::Scratch<double> scratch;
  cpu::Hgrn2GateForward<double>(log_f.data(), k.data(), phi.data(), lb1, rows, dim);
  cpu::Hgrn2GateBackward<double>(dphi.data(), dlb.data(), g1.data(), g2.data(), phi.data(), lb1,
                                 rows, dim, scratch);
  backend_->Hgrn2GateForward(log_ff.data(), kf.data(), phif.data(), lb1f, rows, dim);
  backend_->Hgrn2GateBackward(dphif.data(), dlbf.data(), g1f.data(), g2f.data(), phif.data(), lb1f,
                              rows, dim);
  EXPECT_LE(RelativeError(log_ff, log_f), 1e-5);
  EXPECT_LE(RelativeError(kf, k), 1e-5);
  EXPECT_LE(RelativeError(dphif, dphi), 1e-5);
  EXPECT_LE(RelativeError(dlbf, dlb), 1e-5);
}

// A scratch buffer the machine cannot hold ends the process with a message
// saying so (the trainer's log), not a crash on a null pointer later.
TEST(CpuScratchDeathTest, AnAllocationTheMachineCannotHoldSaysOutOfMemory) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // OpenMP's threads are running
  cpu::Scratch<float> scratch;
  EXPECT_NE(scratch.Get(16), nullptr);
  EXPECT_DEATH(scratch.Get(int64_t{1} << 58),
               "out of memory: the CPU kernels' scratch buffer of 1099511627776.0 MiB");
}

}  // namespace
}  // namespace flopwise::kernels
