"""Where a training step of flopwise-train goes, op by op, against the sgemm limit.

Runs flopwise-train twice per architecture with FLOPWISE_OP_TIMES=1 (the CPU
backend's per-op wall-time table, kernels/cpu/op_times.h), at one of the
training bench's configs: once for --warmup-steps steps and once for
--warmup-steps + --steps. An op's time per step is the difference of its two
totals over --steps, so one-time work (zeroing and first-touching the
arenas at start-up, the first step's warm-up) cancels out. It prints for
every op those milliseconds per step and its share of the step. For the
GEMM ops, whose FLOPs follow from the model's shapes, it also prints the
FLOP/s they reach and that rate as a fraction of the same run's sgemm (numpy
2048^3 on OpenBLAS's OpenMP build, the library flopwise links):

  op <arch> <config> <op> ms_per_step=<ms> share=<%> [gflops=<GFLOP/s> of_sgemm=<%>]

(MatmulBackward includes the Gemm op, which the model uses for some of its
input gradients.)
  step <arch> <config> ms_per_step=<ms> gemm_share=<%> gemm_of_sgemm=<%>

gemm_share is the GEMM ops' share of the backend's time (the rest is
memory- or latency-bound: norms, activations, attention cores, AdamW, Zero);
gemm_of_sgemm is their combined rate over sgemm, which bounds the MFU even
if every other op took no time. An op whose difference comes out negative
(it ran only at start-up, or noise) is shown as 0.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402  (the bench's configs, token files and sgemm)

# Ops whose FLOPs are counted here; every other op is memory- or latency-bound.
GEMM_OPS = ("MatmulForward", "MatmulBackward", "ClassifierForwardBackward")
# The model computes some MatmulBackward input gradients with the plain Gemm
# op (models/block_stack.cc, MatmulBackwardOverwritingInput), its only use of
# Gemm: the two are timed together as one row.
MERGED_INTO = {"Gemm": "MatmulBackward"}


def linear_params_per_layer(arch, cfg):
    """Weights of one block that go through MatmulForward/Backward (the model's layout)."""
    d, g, t = cfg["d_model"], cfg["ffn_dim"], cfg["d_model"] // cfg["heads"]
    gate = 2 * d * t if arch in ("tnl", "cos2") else 0
    return 4 * d * d + gate + 3 * d * g


def gemm_flops_per_step(arch, cfg, tokens):
    linear = cfg["layers"] * linear_params_per_layer(arch, cfg)
    return {"MatmulForward": 2.0 * tokens * linear,
            "MatmulBackward": 4.0 * tokens * linear,
            "ClassifierForwardBackward": 6.0 * tokens * cfg["d_model"] * cfg["vocab"]}


def parse_op_table(stderr):
    """{op: seconds} from the FLOPWISE_OP_TIMES table, MERGED_INTO applied."""
    ops = {}
    for line in stderr.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)\s+([\d.]+)\s+[\d.]+%\s+[\d.]+$", line)
        if m:
            op = MERGED_INTO.get(m.group(1), m.group(1))
            ops[op] = ops.get(op, 0.0) + float(m.group(3))
    return ops


def op_seconds(args, arch, name, cfg, steps, workdir):
    """{op: seconds} of one flopwise-train run of `steps` steps."""
    cmd, out_dir = run_bench.train_command(args.flopwise_train, arch, cfg, cfg["batch_tokens"],
                                           steps, args.threads, workdir)
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env=dict(os.environ, FLOPWISE_OP_TIMES="1"))
    # The run's final checkpoint: hundreds of MB at config B, sixteen runs.
    shutil.rmtree(out_dir, ignore_errors=True)
    if proc.returncode != 0:
        sys.exit(f"flopwise-train {arch} {name} exited {proc.returncode}: "
                 f"{proc.stderr.strip()[-2000:]}")
    ops = parse_op_table(proc.stderr)
    if not all(op in ops for op in GEMM_OPS):
        sys.exit(f"flopwise-train {arch} {name}: no op table with "
                 f"{', '.join(GEMM_OPS)} on stderr (FLOPWISE_OP_TIMES)")
    return ops


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flopwise-train", required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--configs", default="A,B")
    parser.add_argument("--archs", default=",".join(run_bench.ARCHS))
    parser.add_argument("--warmup-steps", type=int, default=2,
                        help="steps of the shorter run, whose op times are subtracted")
    parser.add_argument("--steps", type=int, default=4,
                        help="steps the longer run adds, over which the differences are taken")
    parser.add_argument("--blas-core", default="env",
                        help="OpenBLAS kernels, as the training bench's --blas-core")
    args = parser.parse_args()
    for c in args.configs.split(","):
        if c not in ("A", "B"):
            parser.error(f"--configs: unknown config {c!r} (A or B)")
    for a in args.archs.split(","):
        if a not in run_bench.ARCHS:
            parser.error(f"--archs: unknown architecture {a!r}")

    print(f"# loadavg at the start: {run_bench.load_average()}", flush=True)
    print(f"# {run_bench.apply_blas_core(args.blas_core)}", flush=True)
    sgemm, core = run_bench.measure_sgemm(args.threads,
                                          openmp_blas=run_bench.OPENMP_BLAS_DIR is not None)
    print(f"sgemm {sgemm / 1e9:.1f} GFLOP/s (numpy float32 2048^3, {args.threads} threads, "
          f"OpenBLAS's {core} kernels)", flush=True)
    with tempfile.TemporaryDirectory(prefix="op-breakdown-") as workdir:
        for name in args.configs.split(","):
            _, cfg = run_bench.CONFIGS[name][0]
            for arch in args.archs.split(","):
                # The longer run first: it sizes the token file both runs read.
                long = op_seconds(args, arch, name, cfg, args.warmup_steps + args.steps, workdir)
                short = op_seconds(args, arch, name, cfg, args.warmup_steps, workdir)
                # Seconds per step of each op in the steady state.
                ops = {op: max(0.0, seconds - short.get(op, 0.0)) / args.steps
                       for op, seconds in long.items()}
                total = sum(ops.values())
                flops = gemm_flops_per_step(arch, cfg, cfg["batch_tokens"])
                gemm_seconds = sum(ops.get(op, 0.0) for op in GEMM_OPS)
                for op, seconds in sorted(ops.items(), key=lambda kv: -kv[1]):
                    line = (f"op {arch} {name} {op} ms_per_step={1e3 * seconds:.1f}"
                            f" share={100 * seconds / total:.1f}%")
                    if op in flops and seconds > 0:
                        rate = flops[op] / seconds
                        line += f" gflops={rate / 1e9:.0f} of_sgemm={100 * rate / sgemm:.0f}%"
                    print(line, flush=True)
                gemm_flops = sum(flops.values())
                print(f"step {arch} {name} ms_per_step={1e3 * total:.1f}"
                      f" gemm_share={100 * gemm_seconds / total:.1f}%"
                      f" gemm_of_sgemm={100 * gemm_flops / gemm_seconds / sgemm:.0f}%", flush=True)
    print(f"# loadavg at the end: {run_bench.load_average()}", flush=True)


if __name__ == "__main__":
    main()
