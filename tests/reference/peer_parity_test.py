"""The throughput benchmark's PyTorch peer computes the contract's models.

Loads the same float64 weights into bench/train_throughput/torch_peer.py (fused
projections, chunked forms) and into the masked-quadratic reference, and
compares the loss and every gradient for each architecture at a context that
spans several chunks. The peer's fixed tables (RoPE angles, decays) are built in
float32, hence rel 1e-6 rather than float64 round-off. Exits 1 on any mismatch.
"""

import argparse
import os
import sys

import torch

sys.dont_write_bytecode = True  # nothing written into the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "train_throughput"))
import torch_peer as peer  # noqa: E402
import torch_reference as ref  # noqa: E402
from parity_test import Failures, rel_error, tiny_config  # noqa: E402

TOLERANCE = 1e-6
CONTEXT = 192


def peer_names(arch, layers):
    """{peer parameter name: [reference names concatenated along dim 0]}."""
    names = {"embed.weight": ["embed.weight"]}
    mixer_inputs = ("q", "f", "i") if arch == "hgrn2" else ("q", "k", "v")
    for l in range(layers):
        p, b = f"layers.{l}.", f"blocks.{l}."
        names[b + "mixer.qkv.weight"] = [p + f"mixer.{m}.weight" for m in mixer_inputs]
        names[b + "mixer.o.weight"] = [p + "mixer.o.weight"]
        names[b + "ffn_uv.weight"] = [p + "ffn.u.weight", p + "ffn.v.weight"]
        names[b + "ffn_down.weight"] = [p + "ffn.down.weight"]
        if arch == "llama":
            names[b + "norm1.weight"] = [p + "norm1.weight"]
            names[b + "norm2.weight"] = [p + "norm2.weight"]
        if arch in ("tnl", "cos2"):
            names[b + "mixer.gate_down.weight"] = [p + "mixer.gate_down.weight"]
            names[b + "mixer.gate_up.weight"] = [p + "mixer.gate_up.weight"]
        if arch == "cos2":
            names[b + "mixer.theta"] = [p + "mixer.theta"]
    if arch == "llama":
        names["norm_f.weight"] = ["norm_f.weight"]
    if arch == "hgrn2":
        names["lower_bound"] = ["lower_bound"]
    if arch == "cos2":
        names["tpe_B"] = ["tpe.B"]
    return names


def compare(arch, failures):
    cfg = tiny_config(arch)
    params = ref.init_params(arch, cfg, seed=11, std=0.05, noise=0.1)
    tokens = torch.randint(0, cfg["vocab"], (2, CONTEXT + 1),
                           generator=torch.Generator().manual_seed(12))
    want_loss, want_grads = ref.loss_and_grads(arch, cfg, params, tokens)

    attention = peer.attn_masked_fill if arch == "llama" else None
    model = peer.Model(arch, argparse.Namespace(context=CONTEXT, **cfg), attention).double()
    names = peer_names(arch, cfg["layers"])
    model.load_state_dict({k: torch.cat([params[r] for r in refs]) for k, refs in names.items()},
                          strict=True)
    loss = model(tokens[:, :-1], tokens[:, 1:])
    loss.backward()
    failures.check(abs(loss.item() - want_loss) <= TOLERANCE * abs(want_loss),
                   f"{arch} peer loss {loss.item():.12g} vs reference {want_loss:.12g}")
    grads = dict(model.named_parameters())
    worst = max(rel_error(grads[k].grad, torch.cat([want_grads[r] for r in refs]))
                for k, refs in names.items())
    failures.check(worst <= TOLERANCE, f"{arch} peer gradients (worst rel {worst:.1e})")


def main():
    torch.set_num_threads(1)
    failures = Failures()
    for arch in ref.ARCHS:
        compare(arch, failures)
    return 1 if failures.messages else 0


if __name__ == "__main__":
    sys.exit(main())
