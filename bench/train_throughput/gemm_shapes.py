"""The FLOP/s OpenBLAS reaches on the GEMM shapes of a training step, against 2048^3.

For the training bench's configs A and B, times (numpy float32, median of
--repeats after a warm-up, on OpenBLAS's OpenMP build when installed: the
build flopwise links) each distinct GEMM shape a step runs outside the
attention kernels: the projections and FFN forward (x·Wᵀ), their input
gradients (dY·W) and weight gradients (dYᵀ·X), and the classifier's three
products over one slice of rows (the CPU backend's slice: 2^23 logits). It
prints one line per shape:

  gemm <config> <what> m=<m> n=<n> k=<k> gflops=<GFLOP/s> of_sgemm=<%>

so the rate of a step's GEMM ops (op_breakdown.py) can be read against what
the library does with the same shapes alone.
"""

import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402  (configs and the BLAS environment)

SLICE_LOGITS = 1 << 23  # kernels/cpu/classifier.cc, kSliceElements

TIMER = """
import sys, time
import numpy as np
m, n, k, ta, tb, repeats = (int(v) for v in sys.argv[1:7])
rng = np.random.default_rng(0)
a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
A = a.T if ta else a
B = b.T if tb else b
c = np.empty((m, n), np.float32)
np.matmul(A, B, out=c)
times = []
for _ in range(repeats):
    t = time.perf_counter()
    np.matmul(A, B, out=c)
    times.append(time.perf_counter() - t)
print(sorted(times)[len(times) // 2])
"""


def shapes(cfg):
    """(what, m, n, k, trans_a, trans_b) of one step's GEMMs, as the CPU backend calls them."""
    n, d, g, vocab = cfg["batch_tokens"], cfg["d_model"], cfg["ffn_dim"], cfg["vocab"]
    rows = max(1, min(n, SLICE_LOGITS // vocab))
    return [
        ("proj x·Wᵀ", n, d, d, 0, 1), ("ffn-up x·Wᵀ", n, g, d, 0, 1),
        ("ffn-down h·Wᵀ", n, d, g, 0, 1),
        ("proj dY·W", n, d, d, 0, 0), ("ffn-up dY·W", n, d, g, 0, 0),
        ("ffn-down dY·W", n, g, d, 0, 0),
        ("proj dYᵀ·X", d, d, n, 1, 0), ("ffn-up dYᵀ·X", g, d, n, 1, 0),
        ("ffn-down dYᵀ·X", d, g, n, 1, 0),
        ("logits", rows, vocab, d, 0, 1), ("classifier dx", rows, d, vocab, 0, 0),
        ("classifier dembed", vocab, d, rows, 1, 0),
    ]


def rate(m, n, k, ta, tb, threads, repeats):
    env = run_bench.blas_env(threads, run_bench.OPENMP_BLAS_DIR is not None)
    out = subprocess.run([run_bench.PYTHON, "-c", TIMER] + [str(v) for v in
                                                           (m, n, k, ta, tb, repeats)],
                         capture_output=True, text=True, env=env, check=True)
    return 2.0 * m * n * k / float(out.stdout.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--configs", default="A,B")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    for c in args.configs.split(","):
        if c not in ("A", "B"):
            parser.error(f"--configs: unknown config {c!r} (A or B)")
    print(f"# loadavg at the start: {run_bench.load_average()}", flush=True)
    square = statistics.median(rate(2048, 2048, 2048, 0, 0, args.threads, args.repeats)
                               for _ in range(3))
    print(f"sgemm {square / 1e9:.1f} GFLOP/s (2048^3, {args.threads} threads, "
          f"{'OpenMP' if run_bench.OPENMP_BLAS_DIR else 'default'} OpenBLAS)", flush=True)
    for name in args.configs.split(","):
        cfg = run_bench.CONFIGS[name][0][1]
        for what, m, n, k, ta, tb in shapes(cfg):
            r = rate(m, n, k, ta, tb, args.threads, args.repeats)
            print(f"gemm {name} {what} m={m} n={n} k={k} gflops={r / 1e9:.0f} "
                  f"of_sgemm={100 * r / square:.0f}%", flush=True)
    print(f"# loadavg at the end: {run_bench.load_average()}", flush=True)


if __name__ == "__main__":
    main()
