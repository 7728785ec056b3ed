"""Independent PyTorch reference of the four architectures (docs/model-contract.md).

Written from the model contract alone, in the masked quadratic forms (never the
chunked ones), so that it shares no algorithm with the C++ kernels. Meant to run
in float64 under /usr/bin/python3 (torch 1.13). Also holds a minimal safetensors
reader/writer (JSON header + raw little-endian bytes, no extra packages).

Tensor layout follows the contract: linear weights are stored [out, in] and
applied as y = x @ W.T; activations are [batch, tokens, channels]; heads own
contiguous channel blocks.
"""

import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F

ARCHS = ("llama", "tnl", "hgrn2", "cos2")
CONFIG_KEYS = ("layers", "d_model", "heads", "ffn_dim", "vocab", "gate_rank", "tpe_dim")
# Model flags (§1.2 D3, §3.1 D5, §5.1 D11): a cfg may leave any of them out.
FLAG_DEFAULTS = {"norm_affine": False, "v_act": "none", "lrpe_variant": "transnormer"}
FLAG_ARCHS = {"norm_affine": ("tnl", "hgrn2", "cos2"), "v_act": ("tnl",),
              "lrpe_variant": ("cos2",)}
NORM_EPS = 1e-6
ROPE_BASE = 10000.0
LRPE_BASE = 10000.0

# ---------------------------------------------------------------------------
# safetensors


_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "U32": np.uint32}


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: torch.Tensor} as F32 (float tensors) in name order."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array = tensors[name].detach().to(torch.float32).contiguous().cpu().numpy()
        blob = array.astype("<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Returns ({name: float64 torch.Tensor}, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (header_len,) = struct.unpack("<Q", data[:8])
    if 8 + header_len > len(data):
        raise ValueError(f"{path}: header length {header_len} exceeds the file size")
    header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    body = data[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dtype}")
        begin, end = info["data_offsets"]
        if end > len(body) or begin > end:
            raise ValueError(f"{path}: tensor {name}: data_offsets {begin}..{end} out of range")
        array = np.frombuffer(body[begin:end], dtype=np.dtype(_DTYPES[dtype]).newbyteorder("<"))
        shape = tuple(info["shape"])
        if array.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor {name}: {array.size} values for shape {shape}")
        tensors[name] = torch.from_numpy(array.astype(np.float64).reshape(shape))
    return tensors, metadata


def flag(cfg, name):
    return cfg.get(name, FLAG_DEFAULTS[name])


def model_flags(arch, cfg):
    """{flag: value} for every flag that applies to `arch` and is not at its default."""
    return {k: flag(cfg, k) for k in FLAG_DEFAULTS
            if arch in FLAG_ARCHS[k] and flag(cfg, k) != FLAG_DEFAULTS[k]}


def has_norm_gains(arch, cfg):
    """Block and final norms are RMSNorm with a gain (else SRMSNorm)."""
    return arch == "llama" or bool(model_flags(arch, cfg).get("norm_affine"))


def has_lrpe_theta_param(arch, cfg):
    return arch == "cos2" and flag(cfg, "lrpe_variant") == "transnormer"


def checkpoint_metadata(arch, cfg):
    config = {k: int(cfg[k]) for k in CONFIG_KEYS}
    config.update(model_flags(arch, cfg))
    return {"arch": arch, "config": json.dumps(config)}


# ---------------------------------------------------------------------------
# Parameter names, shapes (§12) and initialisation (§1.4, §4.2, §5.1, §5.2)


def param_shapes(arch, cfg):
    """Ordered {name: shape} of every tensor the checkpoint holds for `arch`."""
    L, d, h = cfg["layers"], cfg["d_model"], cfg["heads"]
    g, v, t, e = cfg["ffn_dim"], cfg["vocab"], cfg["gate_rank"], cfg["tpe_dim"]
    shapes = {"embed.weight": (v, d)}
    if arch == "cos2":
        shapes["tpe.B"] = (d, e)
    if arch == "hgrn2":
        shapes["lower_bound"] = (L, d)
    mixer_names = ("q", "f", "i", "o") if arch == "hgrn2" else ("q", "k", "v", "o")
    for l in range(L):
        p = f"layers.{l}."
        if has_norm_gains(arch, cfg):
            shapes[p + "norm1.weight"] = (d,)
            shapes[p + "norm2.weight"] = (d,)
        for m in mixer_names:
            shapes[p + f"mixer.{m}.weight"] = (d, d)
        if arch in ("tnl", "cos2"):
            shapes[p + "mixer.gate_down.weight"] = (t, d)
            shapes[p + "mixer.gate_up.weight"] = (d, t)
        if has_lrpe_theta_param(arch, cfg):
            shapes[p + "mixer.theta"] = (h, d // h)
        shapes[p + "ffn.u.weight"] = (g, d)
        shapes[p + "ffn.v.weight"] = (g, d)
        shapes[p + "ffn.down.weight"] = (d, g)
    if has_norm_gains(arch, cfg):
        shapes["norm_f.weight"] = (d,)
    return shapes


def lrpe_theta_init(heads, head_dim):
    d = heads * head_dim
    index = torch.arange(d, dtype=torch.float64).reshape(heads, head_dim)
    return LRPE_BASE ** (-2.0 * index / d)


def lrpe_theta_xmixers(heads, head_dim, dtype=torch.float64):
    """lrpe_variant xmixers: θ[c] = 10000^(-2c/D) for c < D/2, 0 otherwise, every head."""
    c = torch.arange(head_dim, dtype=dtype)
    theta = torch.where(2 * c < head_dim, LRPE_BASE ** (-2.0 * c / head_dim),
                        torch.zeros_like(c))
    return theta.expand(heads, head_dim)


def init_params(arch, cfg, seed, std=0.02, noise=0.0):
    """Contract initialisation; `noise` > 0 perturbs the parameters whose init is
    a constant (norm gains, lower bound, θ, TPE B) so that every one matters."""
    gen = torch.Generator().manual_seed(seed)

    def normal(shape, scale):
        return torch.randn(shape, generator=gen, dtype=torch.float64) * scale

    params = {}
    for name, shape in param_shapes(arch, cfg).items():
        if name.endswith(("norm1.weight", "norm2.weight")) or name == "norm_f.weight":
            value = torch.ones(shape, dtype=torch.float64) + normal(shape, noise)
        elif name == "lower_bound":
            value = torch.zeros(shape, dtype=torch.float64) + normal(shape, 5 * noise)
        elif name.endswith("mixer.theta"):
            value = lrpe_theta_init(*shape) * (1 + normal(shape, noise))
        elif name == "tpe.B":
            value = normal(shape, noise)
        else:
            value = normal(shape, std)
        params[name] = value
    return params


# ---------------------------------------------------------------------------
# Building blocks


def srmsnorm(x):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS)


def rmsnorm(x, gain):
    return srmsnorm(x) * gain


def linear(x, weight):
    return x @ weight.t()


def alibi_slopes(heads):
    """§3.2 slope list (head 0 largest); extra slopes for non powers of two last."""

    def power_of_two(n):
        r = 2.0 ** (-8.0 / n)
        return [r ** (i + 1) for i in range(n)]

    if heads & (heads - 1) == 0:
        return power_of_two(heads)
    p = 2 ** int(math.floor(math.log2(heads)))
    return power_of_two(p) + power_of_two(2 * p)[0::2][: heads - p]


def tnl_kappa(layer, layers):
    return 1.0 if layers == 1 else 1.0 - layer / (layers - 1) + 1e-5


def hgrn2_lower_bounds(P):
    """P: [L, d] -> LB: [L, d], LB_l = cumsum(softmax_L(P))_l - p_0."""
    p = torch.softmax(P, dim=0)
    return torch.cumsum(p, dim=0) - p[0:1]


def split_heads(x, heads):
    b, n, d = x.shape
    return x.reshape(b, n, heads, d // heads).transpose(1, 2)


def merge_heads(x):
    b, h, n, D = x.shape
    return x.transpose(1, 2).reshape(b, n, h * D)


def _delta(n, dtype):
    pos = torch.arange(n, dtype=dtype)
    return pos[:, None] - pos[None, :]  # [τ, σ] = τ - σ


def causal_mask(n):
    return torch.ones(n, n, dtype=torch.bool).tril()


def scalar_decay_attention(q, k, v, log_decay):
    """TNL core: q,k,v [b,h,n,D], log_decay [h] (= log λ < 0).
    o_τ = Σ_{σ≤τ} λ^{τ-σ} (q_τ·k_σ) v_σ."""
    n = q.shape[2]
    delta = _delta(n, q.dtype).clamp(min=0)
    M = torch.exp(log_decay[:, None, None] * delta) * causal_mask(n)
    return ((q @ k.transpose(-1, -2)) * M) @ v


def vector_decay_attention(q, k, v, log_f):
    """HGRN2 core (GLA): q,k,v,log_f [b,h,n,D].
    o_τ = Σ_{σ≤τ} Σ_c q_τ[c] k_σ[c] exp(Σ_{r=σ+1..τ} log f_r[c]) v_σ."""
    n = q.shape[2]
    cum = torch.cumsum(log_f, dim=2)
    diff = cum[:, :, :, None, :] - cum[:, :, None, :, :]  # [b,h,τ,σ,c]
    diff = diff.masked_fill(~causal_mask(n)[None, None, :, :, None], float("-inf"))
    A = torch.einsum("bhtc,bhsc,bhtsc->bhts", q, k, torch.exp(diff))
    return A @ v


def lrpe_features(x, theta):
    """x [b,h,n,D], theta [h,D] -> [x ⊙ cos(τθ) ; x ⊙ sin(τθ)]  [b,h,n,2D]."""
    n = x.shape[2]
    pos = torch.arange(n, dtype=x.dtype)
    angle = pos[None, :, None] * theta[:, None, :]  # [h,n,D]
    return torch.cat([x * torch.cos(angle), x * torch.sin(angle)], dim=-1)


def lrpe_attention(q, k, v, theta):
    """cos2 core: tril(q̃ k̃ᵀ) v with q̃ = LRPE(q), k̃ = LRPE(k)."""
    qt, kt = lrpe_features(q, theta), lrpe_features(k, theta)
    return ((qt @ kt.transpose(-1, -2)) * causal_mask(q.shape[2])) @ v


def rope(x):
    """Rotate-half RoPE (§13.2): x [b,h,n,D]."""
    n, D = x.shape[2], x.shape[3]
    half = D // 2
    omega = ROPE_BASE ** (-2.0 * torch.arange(half, dtype=x.dtype) / D)
    angle = torch.arange(n, dtype=x.dtype)[:, None] * omega[None, :]  # [n, D/2]
    cos = torch.cat([torch.cos(angle), torch.cos(angle)], dim=-1)
    sin = torch.cat([torch.sin(angle), torch.sin(angle)], dim=-1)
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


def softmax_attention(q, k, v):
    D = q.shape[-1]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    scores = scores.masked_fill(~causal_mask(q.shape[2]), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def tpe(x, B, gammas):
    """§5.2 / §13.4 TPE (ssm): x [b,n,d], B [d,e], gammas [e].
    Y_τ[c] = Σ_{σ≤τ} T_c[τ-σ] x_σ[c], T_c[m] = Σ_j B[c,j] γ_j^m; returns x + Y."""
    n = x.shape[1]
    m = torch.arange(n, dtype=x.dtype)
    powers = torch.exp(torch.log(gammas)[:, None] * m[None, :])  # [e, n]: γ_j^m
    kernel = B @ powers  # [d, n]: T_c[m]
    lag = _delta(n, x.dtype).clamp(min=0).long()  # [τ, σ]
    toeplitz = kernel[:, lag] * causal_mask(n)  # [d, τ, σ]
    y = torch.einsum("cts,bsc->btc", toeplitz, x)
    return x + y


def tpe_gammas(tpe_dim, dtype=torch.float64):
    return torch.exp(-torch.tensor(alibi_slopes(tpe_dim), dtype=dtype))


# ---------------------------------------------------------------------------
# Whole models


def _gate(x, params, p):
    return torch.sigmoid(linear(linear(x, params[p + "mixer.gate_down.weight"]),
                                params[p + "mixer.gate_up.weight"]))


def token_mixer(arch, cfg, params, layer, x, lower_bounds):
    p = f"layers.{layer}."
    h = cfg["heads"]
    if arch == "llama":
        q = rope(split_heads(linear(x, params[p + "mixer.q.weight"]), h))
        k = rope(split_heads(linear(x, params[p + "mixer.k.weight"]), h))
        v = split_heads(linear(x, params[p + "mixer.v.weight"]), h)
        return linear(merge_heads(softmax_attention(q, k, v)), params[p + "mixer.o.weight"])
    if arch == "tnl":
        q = split_heads(F.silu(linear(x, params[p + "mixer.q.weight"])), h)
        k = split_heads(F.silu(linear(x, params[p + "mixer.k.weight"])), h)
        v = linear(x, params[p + "mixer.v.weight"])
        if flag(cfg, "v_act") == "silu":
            v = F.silu(v)
        elif flag(cfg, "v_act") != "none":
            raise ValueError(f"v_act: unknown activation {flag(cfg, 'v_act')!r}")
        v = split_heads(v, h)
        s = torch.tensor(alibi_slopes(h), dtype=x.dtype)
        o = scalar_decay_attention(q, k, v, -s * tnl_kappa(layer, cfg["layers"]))
        u = srmsnorm(merge_heads(o))
        return linear(u * _gate(x, params, p), params[p + "mixer.o.weight"])
    if arch == "hgrn2":
        q = F.silu(linear(x, params[p + "mixer.q.weight"]))
        phi = linear(x, params[p + "mixer.f.weight"])
        v = linear(x, params[p + "mixer.i.weight"])
        lb = lower_bounds[layer]
        f = lb + (1 - lb) * torch.sigmoid(phi)
        k = (1 - lb) * torch.sigmoid(-phi)
        o = vector_decay_attention(split_heads(q, h), split_heads(k, h), split_heads(v, h),
                                   split_heads(torch.log(f), h))
        return linear(srmsnorm(merge_heads(o)), params[p + "mixer.o.weight"])
    if arch == "cos2":
        q = split_heads(F.silu(linear(x, params[p + "mixer.q.weight"])), h)
        k = split_heads(F.silu(linear(x, params[p + "mixer.k.weight"])), h)
        v = split_heads(linear(x, params[p + "mixer.v.weight"]), h)
        if has_lrpe_theta_param(arch, cfg):
            theta = params[p + "mixer.theta"]
        elif flag(cfg, "lrpe_variant") == "xmixers":
            theta = lrpe_theta_xmixers(h, cfg["d_model"] // h, x.dtype)
        else:
            raise ValueError(f"lrpe_variant: unknown variant {flag(cfg, 'lrpe_variant')!r}")
        o = lrpe_attention(q, k, v, theta)
        u = srmsnorm(merge_heads(o))
        return linear(u * _gate(x, params, p), params[p + "mixer.o.weight"])
    raise ValueError(f"arch: unknown architecture {arch!r}")


def channel_mixer(arch, params, layer, x):
    p = f"layers.{layer}."
    u = linear(x, params[p + "ffn.u.weight"])
    v = linear(x, params[p + "ffn.v.weight"])
    hidden = u * F.silu(v) if arch == "llama" else u * v
    return linear(hidden, params[p + "ffn.down.weight"])


def _norm(arch, cfg, params, name, x):
    """A block or final norm; the attention-output norm is always SRMSNorm (§1.2, §12)."""
    return rmsnorm(x, params[name]) if has_norm_gains(arch, cfg) else srmsnorm(x)


def forward_loss(arch, cfg, params, tokens):
    """tokens: int64 [b, n+1]. Returns the mean next-token cross-entropy (nats)."""
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    x = params["embed.weight"][inputs]
    if arch == "cos2":
        x = tpe(x, params["tpe.B"], tpe_gammas(cfg["tpe_dim"], x.dtype))
    lower_bounds = hgrn2_lower_bounds(params["lower_bound"]) if arch == "hgrn2" else None
    for l in range(cfg["layers"]):
        p = f"layers.{l}."
        x = x + token_mixer(arch, cfg, params, l,
                            _norm(arch, cfg, params, p + "norm1.weight", x), lower_bounds)
        x = x + channel_mixer(arch, params, l, _norm(arch, cfg, params, p + "norm2.weight", x))
    logits = linear(_norm(arch, cfg, params, "norm_f.weight", x), params["embed.weight"])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def loss_and_grads(arch, cfg, params, tokens):
    """float64 loss and {name: gradient} for every parameter."""
    leaves = {k: v.detach().clone().to(torch.float64).requires_grad_(True)
              for k, v in params.items()}
    loss = forward_loss(arch, cfg, leaves, tokens)
    loss.backward()
    return loss.item(), {k: v.grad.detach() for k, v in leaves.items()}
