"""PyTorch peer of kernels_bench: the same ops written the way a PyTorch 1.13
user would (materialised scores, autograd), timed as process CPU ms with one
thread (median of 5), so the two columns compare directly.

Usage: /usr/bin/python3 bench/kernels/torch_peer.py [batch seq d_model heads vocab]
"""
import sys
import time

import torch


def cpu_ms(fn):
    fn()
    times = []
    for _ in range(5):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1e3)
    return sorted(times)[2]


def main():
    args = [int(a) for a in sys.argv[1:]] + [32, 256, 128, 4, 50304][len(sys.argv) - 1:]
    batch, seq, d, heads, vocab = args[:5]
    head_dim = d // heads
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"shape: batch {batch} seq {seq} d {d} heads {heads} vocab {vocab} threads 1")

    x = torch.randn(batch * seq, d, requires_grad=True)
    embed = (torch.randn(vocab, d) * 0.02).requires_grad_()
    targets = torch.randint(0, vocab, (batch * seq,))

    def classifier():
        torch.nn.functional.cross_entropy(x @ embed.t(), targets).backward()

    q, k, v = (torch.randn(batch, heads, seq, head_dim, requires_grad=True) for _ in range(3))
    causal = torch.triu(torch.ones(seq, seq, dtype=torch.bool), 1)
    position = torch.arange(seq, dtype=torch.float32)
    distance = (position[:, None] - position[None, :]).clamp(min=0)
    slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)])
    decay_mask = torch.exp(-slopes[:, None, None] * distance).masked_fill(causal, 0.0)

    def softmax_attention():
        scores = (q @ k.transpose(-1, -2)) / head_dim ** 0.5
        return torch.softmax(scores.masked_fill(causal, float("-inf")), -1) @ v

    def linear_attention():  # TNL, masked quadratic form (QKᵀ ⊙ M) V
        return ((q @ k.transpose(-1, -2)) * decay_mask) @ v

    def forward_backward(fn):
        def run():
            out = fn()
            out.backward(torch.ones_like(out))
        return run

    print(f"{'op':34s} {'fwd cpu ms':>12s} {'fwd+bwd cpu ms':>15s}")
    for name, fn in [("softmax attention", softmax_attention),
                     ("linear attention (tnl)", linear_attention)]:
        with torch.no_grad():
            fwd = cpu_ms(fn)
        print(f"{name:34s} {fwd:12.2f} {cpu_ms(forward_backward(fn)):15.2f}")
    print(f"{'classifier (fwd+bwd fused)':34s} {'':12s} {cpu_ms(classifier):15.2f}")


if __name__ == "__main__":
    main()
