"""Whole-model parity of `flopwise-train check` against the PyTorch reference.

  parity_test.py --flopwise-train BIN --arch ARCH [--flags K=V,...]   (docs/model-contract.md §9.4, §12)
  parity_test.py --self-test                          (the reference checked on its own)

--flags sets model flags of the contract (norm_affine=true, v_act=silu,
lrpe_variant=xmixers); they go into the weights' metadata, so `check` builds
the same model.

Parity: for the tiny configs of §9.4 (L=3, d=64, h=4, g=256, t=e=16, v=257,
b=2, n in {64, 200}) random seeded weights are written as safetensors together
with a uint32 token file; `check` must print the same mean loss (rel 1e-5) and
write the gradient of every §12 tensor (rel = rms(diff)/rms(ref) <= 1e-4),
and nothing else. The reference runs in float64 on the float32-rounded weights.

Self-test: the §9.1 hand vectors, the masked quadratic forms against naive
recurrences, the xmixers LRPE angles, the initial loss ≈ ln v, and autograd
against central finite differences in float64 for each architecture and each
flag variant.

Exits 0 on success, 1 on any failure (every failure is printed).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402

LOSS_REL_TOL = 1e-5
GRAD_REL_TOL = 1e-4
TINY = {"layers": 3, "d_model": 64, "heads": 4, "ffn_dim": 256, "vocab": 257}
BATCH = 2
CONTEXTS = (64, 200)


# One variant per flag and architecture it applies to (the C++ model tests use
# the same list).
FLAG_VARIANTS = (
    ("tnl", {"norm_affine": True}),
    ("tnl", {"v_act": "silu"}),
    ("hgrn2", {"norm_affine": True}),
    ("cos2", {"norm_affine": True}),
    ("cos2", {"lrpe_variant": "xmixers"}),
)


def tiny_config(arch, flags=None):
    cfg = dict(TINY)
    cfg["gate_rank"] = 16 if arch in ("tnl", "cos2") else 0
    cfg["tpe_dim"] = 16 if arch == "cos2" else 0
    cfg.update(flags or {})
    return cfg


def parse_flags(text):
    """'norm_affine=true,v_act=silu' -> {"norm_affine": True, "v_act": "silu"}."""
    flags = {}
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in ref.FLAG_DEFAULTS:
            raise ValueError(f"--flags: bad item {item!r} (expected one of "
                             f"{sorted(ref.FLAG_DEFAULTS)} as key=value)")
        if isinstance(ref.FLAG_DEFAULTS[key], bool):
            if value not in ("true", "false"):
                raise ValueError(f"--flags: {key} must be true or false, got {value!r}")
            flags[key] = value == "true"
        else:
            flags[key] = value
    return flags


def flags_tag(flags):
    return "".join(f" {k}={v}" for k, v in sorted(flags.items()))


def rel_error(out, want):
    denom = want.pow(2).mean().sqrt().item()
    diff = (out - want).pow(2).mean().sqrt().item()
    return diff / denom if denom > 0 else diff


class Failures:
    def __init__(self):
        self.messages = []

    def check(self, ok, message):
        print(("ok    " if ok else "FAIL  ") + message)
        if not ok:
            self.messages.append(message)


# ---------------------------------------------------------------------------
# Parity against flopwise-train check


def run_check(binary, weights, tokens, batch, context, grads):
    cmd = [binary, "check", "--weights", weights, "--tokens", tokens, "--batch", str(batch),
           "--context", str(context), "--grads", grads]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                           f"stderr:\n{proc.stderr}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines or not lines[-1].startswith("loss "):
        raise RuntimeError(f"check: last stdout line is not 'loss <value>': {lines[-1:]}")
    return float(lines[-1].split()[1])


def parity_case(binary, arch, flags, context, seed, failures):
    cfg = tiny_config(arch, flags)
    params = ref.init_params(arch, cfg, seed=seed, std=0.05, noise=0.1)
    params = {k: v.to(torch.float32).to(torch.float64) for k, v in params.items()}
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, cfg["vocab"], size=(BATCH, context + 1), dtype=np.uint32)
    with tempfile.TemporaryDirectory(prefix=f"parity-{arch}-") as tmp:
        weights_path = os.path.join(tmp, "W.safetensors")
        tokens_path = os.path.join(tmp, "T.bin")
        grads_path = os.path.join(tmp, "G.safetensors")
        ref.write_safetensors(weights_path, params, ref.checkpoint_metadata(arch, cfg))
        tokens.astype("<u4").tofile(tokens_path)
        loss = run_check(binary, weights_path, tokens_path, BATCH, context, grads_path)
        grads, _ = ref.read_safetensors(grads_path)
    want_loss, want_grads = ref.loss_and_grads(arch, cfg, params,
                                               torch.from_numpy(tokens.astype(np.int64)))
    tag = f"{arch}{flags_tag(flags)} n={context}"
    loss_rel = abs(loss - want_loss) / abs(want_loss)
    failures.check(loss_rel <= LOSS_REL_TOL,
                   f"{tag} loss {loss:.9g} vs reference {want_loss:.9g} (rel {loss_rel:.2e})")
    expected = set(ref.param_shapes(arch, cfg))
    missing, extra = sorted(expected - set(grads)), sorted(set(grads) - expected)
    failures.check(not missing and not extra,
                   f"{tag} gradient file tensors (missing {missing}, extra {extra})")
    worst = (0.0, "")
    for name, shape in ref.param_shapes(arch, cfg).items():
        if name not in grads:
            continue
        if tuple(grads[name].shape) != tuple(shape):
            failures.check(False, f"{tag} grad {name}: shape {tuple(grads[name].shape)}, "
                                  f"expected {tuple(shape)}")
            continue
        rel = rel_error(grads[name], want_grads[name])
        worst = max(worst, (rel, name))
        if rel > GRAD_REL_TOL:
            failures.check(False, f"{tag} grad {name}: rel {rel:.2e} > {GRAD_REL_TOL:g}")
    failures.check(worst[0] <= GRAD_REL_TOL,
                   f"{tag} all gradients within rel {GRAD_REL_TOL:g} (worst {worst[0]:.2e} "
                   f"at {worst[1]})")


# ---------------------------------------------------------------------------
# Self-test of the reference


def naive_decay_recurrence(q, k, v, log_f):
    """S_τ = diag(exp(log_f_τ)) S_{τ-1} + k_τ v_τᵀ, o_τ = S_τᵀ q_τ; all [b,h,n,Dk|Dv]."""
    b, h, n, dk = q.shape
    state = torch.zeros(b, h, dk, v.shape[-1], dtype=q.dtype)
    out = []
    for t in range(n):
        state = torch.exp(log_f[:, :, t])[..., None] * state + \
            k[:, :, t, :, None] * v[:, :, t, None, :]
        out.append(torch.einsum("bhc,bhcv->bhv", q[:, :, t], state))
    return torch.stack(out, dim=2)


def naive_tpe(x, B, gammas):
    b, n, d = x.shape
    state = torch.zeros(b, d, B.shape[1], dtype=x.dtype)
    out = []
    for t in range(n):
        state = gammas * state + B * x[:, t, :, None]
        out.append(x[:, t] + state.sum(-1))
    return torch.stack(out, dim=1)


def self_test_hand_vectors(failures):
    ones = torch.ones(1, 1, 3, 1, dtype=torch.float64)
    o = ref.scalar_decay_attention(ones, ones, ones, torch.tensor([math.log(0.5)],
                                                                  dtype=torch.float64))
    failures.check(torch.allclose(o.flatten(), torch.tensor([1, 1.5, 1.75], dtype=torch.float64)),
                   f"TNL λ=0.5 hand vector {o.flatten().tolist()}")
    o = ref.vector_decay_attention(ones, 0.5 * ones, ones, torch.full_like(ones, math.log(0.5)))
    failures.check(torch.allclose(o.flatten(), torch.tensor([0.5, 0.75, 0.875],
                                                            dtype=torch.float64)),
                   f"HGRN2 f=0.5 hand vector {o.flatten().tolist()}")
    o = ref.lrpe_attention(ones, ones, ones, torch.tensor([[math.pi / 2]], dtype=torch.float64))
    failures.check(torch.allclose(o.flatten(), torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64),
                                  atol=1e-12),
                   f"cos2 θ=π/2 hand vector {o.flatten().tolist()}")
    x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).reshape(1, 3, 1)
    y = ref.tpe(x, torch.ones(1, 1, dtype=torch.float64), torch.tensor([0.5], dtype=torch.float64))
    failures.check(torch.allclose(y.flatten(), torch.tensor([2, 0.5, 0.25], dtype=torch.float64)),
                   f"TPE γ=0.5 hand vector {y.flatten().tolist()}")
    y = ref.srmsnorm(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    want = torch.tensor([0.36515, 0.73030, 1.09545, 1.46059], dtype=torch.float64)
    failures.check(torch.allclose(y, want, atol=1e-5), f"SRMSNorm([1,2,3,4]) {y.tolist()}")
    lb = ref.hgrn2_lower_bounds(torch.zeros(4, 3, dtype=torch.float64))[:, 0]
    failures.check(torch.allclose(lb, torch.tensor([0, 0.25, 0.5, 0.75], dtype=torch.float64)),
                   f"HGRN2 lower bound at init L=4 {lb.tolist()}")
    want_slopes = {
        4: [0.25, 0.0625, 0.015625, 0.00390625],
        6: [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125],
        12: [2.0 ** -(i + 1) for i in range(8)] + [0.70710678, 0.35355339, 0.17677670,
                                                   0.08838835],
    }
    for heads, want in want_slopes.items():
        got = ref.alibi_slopes(heads)
        failures.check(np.allclose(got, want, atol=1e-8), f"slopes H={heads} {got}")
    kappas = [ref.tnl_kappa(l, 6) for l in range(6)]
    failures.check(np.allclose(kappas, [1.00001, 0.80001, 0.60001, 0.40001, 0.20001, 0.00001],
                               atol=1e-12), f"κ for L=6 {kappas}")


def self_test_quadratic_vs_recurrence(failures):
    gen = torch.Generator().manual_seed(7)
    b, h, n, D = 2, 3, 37, 5

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    q, k, v = torch.nn.functional.silu(randn(b, h, n, D)), \
        torch.nn.functional.silu(randn(b, h, n, D)), randn(b, h, n, D)
    log_decay = -torch.tensor([0.8409, 0.25, 1e-5], dtype=torch.float64)
    got = ref.scalar_decay_attention(q, k, v, log_decay)
    want = naive_decay_recurrence(q, k, v, log_decay[None, :, None, None].expand(b, h, n, D))
    failures.check(rel_error(got, want) < 1e-12, f"scalar decay: masked vs recurrence "
                                                 f"(rel {rel_error(got, want):.1e})")
    log_f = torch.nn.functional.logsigmoid(3 * randn(b, h, n, D))
    got = ref.vector_decay_attention(q, k, v, log_f)
    want = naive_decay_recurrence(q, k, v, log_f)
    failures.check(rel_error(got, want) < 1e-12, f"vector decay: masked vs recurrence "
                                                 f"(rel {rel_error(got, want):.1e})")
    theta = ref.lrpe_theta_init(h, D)
    got = ref.lrpe_attention(q, k, v, theta)
    pos = torch.arange(n, dtype=torch.float64)[None, None, :, None]
    features = [torch.cat([x * torch.cos(pos * theta[None, :, None, :]),
                           x * torch.sin(pos * theta[None, :, None, :])], dim=-1) for x in (q, k)]
    want = naive_decay_recurrence(features[0], features[1], v,
                                  torch.zeros(b, h, n, 2 * D, dtype=torch.float64))
    failures.check(rel_error(got, want) < 1e-12, f"LRPE: masked vs recurrence "
                                                 f"(rel {rel_error(got, want):.1e})")
    x, B = randn(b, n, 6), randn(6, 4)
    gammas = ref.tpe_gammas(4)
    got, want = ref.tpe(x, B, gammas), naive_tpe(x, B, gammas)
    failures.check(rel_error(got, want) < 1e-12, f"TPE: Toeplitz vs recurrence "
                                                 f"(rel {rel_error(got, want):.1e})")


def self_test_models(failures):
    for arch, flags in [(a, {}) for a in ref.ARCHS] + list(FLAG_VARIANTS):
        tag = arch + flags_tag(flags)
        cfg = tiny_config(arch, flags)
        params = ref.init_params(arch, cfg, seed=3)
        tokens = torch.randint(0, cfg["vocab"], (BATCH, 65),
                               generator=torch.Generator().manual_seed(4))
        with torch.no_grad():
            loss = ref.forward_loss(arch, cfg, params, tokens).item()
        failures.check(abs(loss - math.log(cfg["vocab"])) < 0.05,
                       f"{tag} initial loss {loss:.4f} ≈ ln v = {math.log(cfg['vocab']):.4f}")

        fd_cfg = {"layers": 2, "d_model": 8, "heads": 2, "ffn_dim": 16, "vocab": 11,
                  "gate_rank": 4 if arch in ("tnl", "cos2") else 0,
                  "tpe_dim": 4 if arch == "cos2" else 0, **flags}
        params = ref.init_params(arch, fd_cfg, seed=5, std=0.5, noise=0.3)
        tokens = torch.randint(0, fd_cfg["vocab"], (2, 8),
                               generator=torch.Generator().manual_seed(6))
        _, grads = ref.loss_and_grads(arch, fd_cfg, params, tokens)
        gen = torch.Generator().manual_seed(8)
        direction = {k: torch.randn(v.shape, generator=gen, dtype=torch.float64)
                     for k, v in params.items()}
        norm = math.sqrt(sum(u.pow(2).sum().item() for u in direction.values()))
        direction = {k: u / norm for k, u in direction.items()}
        eps = 1e-6

        def shifted(sign):
            return {k: params[k] + sign * eps * direction[k] for k in params}

        with torch.no_grad():
            numeric = (ref.forward_loss(arch, fd_cfg, shifted(+1), tokens) -
                       ref.forward_loss(arch, fd_cfg, shifted(-1), tokens)).item() / (2 * eps)
        analytic = sum((grads[k] * direction[k]).sum().item() for k in params)
        rel = abs(numeric - analytic) / max(abs(analytic), 1e-12)
        failures.check(rel <= 1e-6, f"{tag} directional derivative: autograd {analytic:.9e} vs "
                                    f"finite difference {numeric:.9e} (rel {rel:.1e})")
        zero = [k for k, g in grads.items() if g.abs().max().item() == 0]
        failures.check(not zero, f"{tag} every parameter has a non-zero gradient ({zero})")


def self_test_flags(failures):
    """What each flag changes, checked against hand values and the default model."""
    theta = ref.lrpe_theta_xmixers(2, 6)
    want = torch.tensor([1.0, 10000 ** (-2 / 6), 10000 ** (-4 / 6), 0, 0, 0],
                        dtype=torch.float64)
    failures.check(torch.allclose(theta, want.expand(2, 6), rtol=0, atol=1e-15),
                   f"xmixers θ for h=2, D=6 {theta.tolist()}")
    odd = ref.lrpe_theta_xmixers(1, 5)[0]
    failures.check(odd[2].item() > 0 and odd[3].item() == 0, f"xmixers θ for D=5 {odd.tolist()}")
    tokens = torch.randint(0, TINY["vocab"], (BATCH, 33),
                           generator=torch.Generator().manual_seed(5))
    for arch, flags in FLAG_VARIANTS:
        tag = arch + flags_tag(flags)
        plain_cfg, cfg = tiny_config(arch), tiny_config(arch, flags)
        plain = ref.init_params(arch, plain_cfg, seed=6, std=0.05, noise=0.1)
        shapes = ref.param_shapes(arch, cfg)
        params = {k: plain[k] if k in plain else torch.ones(shape, dtype=torch.float64)
                  for k, shape in shapes.items()}
        with torch.no_grad():
            plain_loss = ref.forward_loss(arch, plain_cfg, plain, tokens).item()
            loss = ref.forward_loss(arch, cfg, params, tokens).item()
        meta = json.loads(ref.checkpoint_metadata(arch, cfg)["config"])
        failures.check(all(meta.get(k) == v for k, v in flags.items()),
                       f"{tag} metadata carries the flag {meta}")
        if flags.get("norm_affine"):
            gains = set(shapes) - set(plain)
            failures.check(len(gains) == 2 * cfg["layers"] + 1 and "norm_f.weight" in gains,
                           f"{tag} adds the 2L+1 gains {sorted(gains)}")
            failures.check(abs(loss - plain_loss) <= 1e-12 * plain_loss,
                           f"{tag} with unit gains equals SRMSNorm ({loss} vs {plain_loss})")
        if flags.get("lrpe_variant") == "xmixers":
            failures.check(set(plain) - set(shapes) ==
                           {f"layers.{l}.mixer.theta" for l in range(cfg["layers"])},
                           f"{tag} has no θ tensors")
            fixed = dict(plain)
            D = cfg["d_model"] // cfg["heads"]
            for l in range(cfg["layers"]):
                fixed[f"layers.{l}.mixer.theta"] = ref.lrpe_theta_xmixers(cfg["heads"], D)
            with torch.no_grad():
                same = ref.forward_loss(arch, plain_cfg, fixed, tokens).item()
            failures.check(abs(loss - same) <= 1e-12 * same and abs(loss - plain_loss) > 1e-6,
                           f"{tag} equals transnormer with θ set to the fixed angles")
        if flags.get("v_act") == "silu":
            failures.check(set(shapes) == set(plain) and abs(loss - plain_loss) > 1e-6,
                           f"{tag} same tensors, another loss ({loss} vs {plain_loss})")


def self_test_safetensors(failures):
    cfg = tiny_config("cos2")
    params = ref.init_params("cos2", cfg, seed=9, noise=0.1)
    with tempfile.TemporaryDirectory(prefix="reference-") as tmp:
        path = os.path.join(tmp, "w.safetensors")
        ref.write_safetensors(path, params, ref.checkpoint_metadata("cos2", cfg))
        back, metadata = ref.read_safetensors(path)
    same = set(back) == set(params) and all(
        torch.equal(back[k], params[k].to(torch.float32).to(torch.float64)) for k in params)
    failures.check(same, "safetensors round trip of every tensor")
    failures.check(metadata.get("arch") == "cos2" and
                   sorted(json.loads(metadata["config"])) == sorted(ref.CONFIG_KEYS),
                   f"safetensors metadata {metadata}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flopwise-train", help="path of the flopwise-train program")
    parser.add_argument("--arch", choices=ref.ARCHS, help="architecture to compare")
    parser.add_argument("--flags", default="",
                        help="model flags for the comparison, e.g. norm_affine=true,v_act=silu")
    parser.add_argument("--self-test", action="store_true", help="check the reference itself")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures = Failures()
    if args.self_test:
        self_test_hand_vectors(failures)
        self_test_quadratic_vs_recurrence(failures)
        self_test_safetensors(failures)
        self_test_flags(failures)
        self_test_models(failures)
    elif args.flopwise_train and args.arch:
        try:
            flags = parse_flags(args.flags)
        except ValueError as error:
            parser.error(str(error))
        for context in CONTEXTS:
            try:
                parity_case(args.flopwise_train, args.arch, flags, context, args.seed + context,
                            failures)
            except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as error:
                failures.check(False, f"{args.arch}{flags_tag(flags)} n={context}: {error}")
    else:
        parser.error("give --self-test, or both --flopwise-train and --arch")
    if failures.messages:
        print(f"{len(failures.messages)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
