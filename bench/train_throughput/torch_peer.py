"""PyTorch peer of flopwise-train for the throughput benchmark (CPU, float32).

The same four architectures as docs/model-contract.md, each in its fastest form that
torch 1.13 offers on the CPU: fused input projections, chunked linear
attention (block 64, or 128 above 1024 tokens) for TNL and cosFormer2, the
chunked GLA form (block 16, intra-chunk scores as one GEMM) for HGRN2, FFT convolution for TPE,
and for LLaMA the fastest masked-matmul attention form measured at startup.
One training step = forward, backward, AdamW; it prints one JSON object per
step on stdout: {"event":"progress","step":S,"tokens":T,"loss":L,"tokens_per_s":R}.
"""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-6


def alibi_slopes(heads):
    def power_of_two(n):
        r = 2.0 ** (-8.0 / n)
        return [r ** (i + 1) for i in range(n)]

    if heads & (heads - 1) == 0:
        return power_of_two(heads)
    p = 2 ** int(math.floor(math.log2(heads)))
    return power_of_two(p) + power_of_two(2 * p)[0::2][: heads - p]


def srms(x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)


class Norm(nn.Module):
    """RMSNorm with gain (affine=True) or SRMSNorm."""

    def __init__(self, d, affine):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d)) if affine else None

    def forward(self, x):
        y = srms(x)
        return y * self.weight if self.weight is not None else y


def heads_view(x, h):
    b, n, d = x.shape
    return x.view(b, n, h, d // h).transpose(1, 2)


def merge(x):
    b, h, n, D = x.shape
    return x.transpose(1, 2).reshape(b, n, h * D)


# ---------------------------------------------------------------------------
# Core ops, chunked. q, k, v: [b, h, n, D]; n a multiple of the chunk.


def chunked_scalar_decay(q, k, v, log_lam, C):
    b, h, n, D = q.shape
    nc = n // C
    q, k, v = (x.reshape(b, h, nc, C, D) for x in (q, k, v))
    ll = log_lam.view(h, 1, 1)
    i = torch.arange(C, dtype=q.dtype)
    lag = i[:, None] - i[None, :]
    M = torch.exp(ll * lag.clamp(min=0)) * (lag >= 0)  # [h, C, C]
    intra = ((q @ k.transpose(-1, -2)) * M[None, :, None]) @ v
    k_decay = torch.exp(ll * (C - 1 - i)).view(1, h, 1, C, 1)
    kv = (k * k_decay).transpose(-1, -2) @ v  # [b, h, nc, D, D]
    ci = torch.arange(nc, dtype=q.dtype)
    gap = ci[:, None] - 1 - ci[None, :]
    W = torch.exp(ll * C * gap.clamp(min=0)) * (gap >= 0)  # [h, nc, nc]
    states = torch.einsum("hij,bhjde->bhide", W, kv)
    q_decay = torch.exp(ll * (i + 1)).view(1, h, 1, C, 1)
    return (intra + (q * q_decay) @ states).reshape(b, h, n, D)


def chunked_lrpe(q, k, v, theta, C):
    b, h, n, D = q.shape
    nc = n // C
    angle = torch.arange(n, dtype=q.dtype)[None, :, None] * theta[:, None, :]  # [h, n, D]
    cos, sin = torch.cos(angle), torch.sin(angle)
    qt = torch.cat([q * cos, q * sin], dim=-1).reshape(b, h, nc, C, 2 * D)
    kt = torch.cat([k * cos, k * sin], dim=-1).reshape(b, h, nc, C, 2 * D)
    v = v.reshape(b, h, nc, C, D)
    intra = torch.tril(qt @ kt.transpose(-1, -2)) @ v
    kv = kt.transpose(-1, -2) @ v
    states = torch.cumsum(kv, dim=2) - kv
    return (intra + qt @ states).reshape(b, h, n, D)


def chunked_gla(q, k, v, log_f, C=16):
    """S_τ = diag(f_τ) S_{τ-1} + k_τ v_τᵀ, o_τ = S_τᵀ q_τ, in chunks of C.

    Inter-chunk terms use only exponents ≤ 0. The intra-chunk scores are one GEMM of
    q ⊙ exp(β_i - β_m) and k ⊙ exp(β_m - β_j), m the chunk's middle position: exact, and
    finite unless the gates average below ~1e-4 over C/2 tokens (never at initialisation;
    a throughput peer, not a trainer for every regime)."""
    b, h, n, D = q.shape
    nc = n // C
    q, k, v, g = (x.reshape(b, h, nc, C, D) for x in (q, k, v, log_f))
    beta = torch.cumsum(g, dim=3)
    beta_last = beta[:, :, :, -1:, :]
    kv = (k * torch.exp(beta_last - beta)).transpose(-1, -2) @ v  # [b, h, nc, D, D]
    decay = torch.exp(beta_last).transpose(-1, -2)  # [b, h, nc, D, 1]
    state = q.new_zeros(b, h, D, D)
    states = []
    for decay_c, kv_c in zip(decay.unbind(2), kv.unbind(2)):
        states.append(state)
        state = decay_c * state + kv_c
    inter = (q * torch.exp(beta)) @ torch.stack(states, dim=2)
    beta_mid = beta[:, :, :, C // 2 - 1 : C // 2, :]
    scores = (q * torch.exp(beta - beta_mid)) @ (k * torch.exp(beta_mid - beta)).transpose(-1, -2)
    return (inter + torch.tril(scores) @ v).reshape(b, h, n, D)


def tpe_fft(x, B, log_gamma):
    """x + causal Toeplitz convolution per channel, kernel T_c[m] = Σ_j B[c,j] γ_j^m."""
    n = x.shape[1]
    powers = torch.exp(log_gamma[:, None] * torch.arange(n, dtype=x.dtype)[None, :])  # [e, n]
    kernel = B @ powers  # [d, n]
    size = 2 * n
    y = torch.fft.irfft(torch.fft.rfft(x.transpose(1, 2), n=size) * torch.fft.rfft(kernel, n=size),
                        n=size)[..., :n]
    return x + y.transpose(1, 2)


# ---------------------------------------------------------------------------
# Causal softmax attention forms (LLaMA)


def attn_masked_fill(q, k, v):
    n, D = q.shape[2], q.shape[3]
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D))
    s = s.masked_fill(~torch.ones(n, n, dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def attn_baddbmm(q, k, v):
    b, h, n, D = q.shape
    bias = torch.full((n, n), float("-inf")).triu(1)
    s = torch.baddbmm(bias, q.reshape(b * h, n, D), k.reshape(b * h, n, D).transpose(1, 2),
                      alpha=1.0 / math.sqrt(D))
    return torch.bmm(torch.softmax(s, dim=-1), v.reshape(b * h, n, D)).view(b, h, n, D)


def attn_sdpa(q, k, v):
    return F._scaled_dot_product_attention(q, k, v, None, 0.0, False, True)[0]


ATTENTION_FORMS = {"masked_fill": attn_masked_fill, "baddbmm": attn_baddbmm}
if hasattr(F, "_scaled_dot_product_attention"):
    ATTENTION_FORMS["sdpa"] = attn_sdpa


def fastest_attention(b, h, n, D):
    timings = {}
    for name, fn in ATTENTION_FORMS.items():
        q, k, v = (torch.randn(b, h, n, D, requires_grad=True) for _ in range(3))
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            fn(q, k, v).sum().backward()
            best = min(best, time.perf_counter() - start)
        timings[name] = best
    return min(timings, key=timings.get), timings


# ---------------------------------------------------------------------------
# Model


class Mixer(nn.Module):
    def __init__(self, arch, d, h, t, layer, layers, context, attention):
        super().__init__()
        self.arch, self.h, D = arch, h, d // h
        self.chunk = 64 if context <= 1024 else 128
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        if arch in ("tnl", "cos2"):
            self.gate_down = nn.Linear(d, t, bias=False)
            self.gate_up = nn.Linear(t, d, bias=False)
        if arch == "llama":
            self.attention = attention
            omega = 10000.0 ** (-2.0 * torch.arange(D // 2) / D)
            angle = torch.arange(context)[:, None] * omega[None, :]
            self.register_buffer("cos", torch.cat([angle.cos(), angle.cos()], -1), persistent=False)
            self.register_buffer("sin", torch.cat([angle.sin(), angle.sin()], -1), persistent=False)
        if arch == "tnl":
            kappa = 1.0 if layers == 1 else 1.0 - layer / (layers - 1) + 1e-5
            self.register_buffer("log_lam", -torch.tensor(alibi_slopes(h)) * kappa,
                                 persistent=False)
        if arch == "cos2":
            index = torch.arange(d, dtype=torch.float32).view(h, D)
            self.theta = nn.Parameter(10000.0 ** (-2.0 * index / d))

    def rope(self, x):
        half = x.shape[-1] // 2
        n = x.shape[2]
        return x * self.cos[:n] + torch.cat([-x[..., half:], x[..., :half]], -1) * self.sin[:n]

    def forward(self, x, lower_bound=None):
        a, b_, c = self.qkv(x).chunk(3, dim=-1)
        h = self.h
        if self.arch == "llama":
            o = self.attention(self.rope(heads_view(a, h)), self.rope(heads_view(b_, h)),
                               heads_view(c, h))
            return self.o(merge(o))
        if self.arch == "hgrn2":
            q = F.silu(a)
            log_f = torch.log(lower_bound + (1 - lower_bound) * torch.sigmoid(b_))
            k = (1 - lower_bound) * torch.sigmoid(-b_)
            o = chunked_gla(heads_view(q, h), heads_view(k, h), heads_view(c, h),
                            heads_view(log_f, h))
            return self.o(srms(merge(o)))
        q, k, v = heads_view(F.silu(a), h), heads_view(F.silu(b_), h), heads_view(c, h)
        if self.arch == "tnl":
            o = chunked_scalar_decay(q, k, v, self.log_lam, self.chunk)
        else:
            o = chunked_lrpe(q, k, v, self.theta, self.chunk)
        return self.o(srms(merge(o)) * torch.sigmoid(self.gate_up(self.gate_down(x))))


class Block(nn.Module):
    def __init__(self, arch, cfg, layer, attention):
        super().__init__()
        d, g = cfg.d_model, cfg.ffn_dim
        affine = arch == "llama"
        self.swiglu = affine
        self.norm1, self.norm2 = Norm(d, affine), Norm(d, affine)
        self.mixer = Mixer(arch, d, cfg.heads, cfg.gate_rank, layer, cfg.layers, cfg.context,
                           attention)
        self.ffn_uv = nn.Linear(d, 2 * g, bias=False)
        self.ffn_down = nn.Linear(g, d, bias=False)

    def forward(self, x, lower_bound=None):
        x = x + self.mixer(self.norm1(x), lower_bound)
        u, v = self.ffn_uv(self.norm2(x)).chunk(2, dim=-1)
        return x + self.ffn_down(u * (F.silu(v) if self.swiglu else v))


class Model(nn.Module):
    def __init__(self, arch, cfg, attention):
        super().__init__()
        self.arch = arch
        self.embed = nn.Embedding(cfg.vocab, cfg.d_model)
        self.blocks = nn.ModuleList(Block(arch, cfg, l, attention) for l in range(cfg.layers))
        self.norm_f = Norm(cfg.d_model, arch == "llama")
        if arch == "hgrn2":
            self.lower_bound = nn.Parameter(torch.zeros(cfg.layers, cfg.d_model))
        if arch == "cos2":
            self.tpe_B = nn.Parameter(torch.zeros(cfg.d_model, cfg.tpe_dim))
            self.register_buffer("log_gamma", -torch.tensor(alibi_slopes(cfg.tpe_dim)),
                                 persistent=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, inputs, targets):
        x = self.embed(inputs)
        if self.arch == "cos2":
            x = tpe_fft(x, self.tpe_B, self.log_gamma)
        bounds = None
        if self.arch == "hgrn2":
            p = torch.softmax(self.lower_bound, dim=0)
            bounds = torch.cumsum(p, dim=0) - p[:1]
        for l, block in enumerate(self.blocks):
            x = block(x, bounds[l] if bounds is not None else None)
        logits = self.norm_f(x) @ self.embed.weight.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", required=True, choices=("llama", "tnl", "hgrn2", "cos2"))
    for flag in ("layers", "d-model", "heads", "ffn-dim", "vocab", "context", "batch-tokens"):
        parser.add_argument(f"--{flag}", type=int, required=True)
    parser.add_argument("--gate-rank", type=int, default=0, help="default: head dim")
    parser.add_argument("--tpe-dim", type=int, default=0, help="default: head dim")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    cfg = parser.parse_args()
    if cfg.batch_tokens % cfg.context:
        parser.error("--batch-tokens: must be a multiple of --context")
    chunk = 64 if cfg.context <= 1024 else 128
    if cfg.context % chunk:
        parser.error(f"--context: must be a multiple of the chunk ({chunk})")
    head_dim = cfg.d_model // cfg.heads
    cfg.gate_rank = cfg.gate_rank or head_dim
    cfg.tpe_dim = cfg.tpe_dim or head_dim
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    batch = cfg.batch_tokens // cfg.context

    attention = None
    if cfg.arch == "llama":
        name, timings = fastest_attention(batch, cfg.heads, cfg.context, head_dim)
        attention = ATTENTION_FORMS[name]
        print(json.dumps({"event": "attention_form", "chosen": name,
                          "seconds": {k: round(v, 4) for k, v in timings.items()}}), flush=True)
    model = Model(cfg.arch, cfg, attention)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1, foreach=True)
    for step in range(1, cfg.steps + 1):
        tokens = torch.randint(0, cfg.vocab, (batch, cfg.context + 1))
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = model(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
        optimizer.step()
        seconds = time.perf_counter() - start
        print(json.dumps({"event": "progress", "step": step, "tokens": step * cfg.batch_tokens,
                          "loss": round(loss.item(), 6),
                          "tokens_per_s": cfg.batch_tokens / seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
