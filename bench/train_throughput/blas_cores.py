"""Which OpenBLAS kernels are fastest on this machine: sgemm and flopwise-train's tokens/s
under each OPENBLAS_CORETYPE asked for, interleaved.

OpenBLAS picks its kernels for the CPU when a program loads it, unless
OPENBLAS_CORETYPE names others (docs/training.md, "CPU speed: OpenBLAS's
kernels"). For each core in --cores ("auto": the variable removed, so
OpenBLAS picks; "env": as this environment has it; or a name such as Haswell
or SkylakeX) it measures, --repeats times in turn (core 1, core 2, core 1,
...), numpy's float32 2048^3 sgemm on OpenBLAS's OpenMP build (the training
bench's measure_sgemm) and, with --flopwise-train, the training bench's
llama at config A (warm-up steps skipped). It prints per core the kernels
that ran, the medians and min-max of both, and each core's ratio to the
first (of tokens/s, or of sgemm without --flopwise-train):

  core <asked> kernels=<ran> sgemm=<GFLOP/s> [min-max] tokens_per_s=<median> [min-max]
    vs_first=<ratio>
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402  (configs, token files, sgemm and the flopwise run)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", default="env,auto",
                        help="comma-separated OPENBLAS_CORETYPE choices: env, auto or a name")
    parser.add_argument("--flopwise-train", help="also time flopwise-train's llama at config A")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup-steps", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    cores = [c for c in args.cores.split(",") if c]
    if len(cores) < 2:
        parser.error("--cores: at least two choices to compare")
    print(f"# loadavg at the start: {run_bench.load_average()}", flush=True)
    print(f"# OPENBLAS_CORETYPE in the environment: {run_bench.INHERITED_CORETYPE or 'not set'}",
          flush=True)
    openmp = run_bench.OPENMP_BLAS_DIR is not None
    _, cfg = run_bench.CONFIGS["A"][0]
    sgemm = {c: [] for c in cores}
    tokens = {c: [] for c in cores}
    ran = {}
    with tempfile.TemporaryDirectory(prefix="blas-cores-") as workdir:
        for _ in range(args.repeats):
            for core in cores:
                run_bench.apply_blas_core(core)
                flops, ran[core] = run_bench.measure_sgemm(args.threads, openmp_blas=openmp)
                sgemm[core].append(flops / 1e9)
                if args.flopwise_train:
                    cmd, out_dir = run_bench.train_command(
                        args.flopwise_train, "llama", cfg, cfg["batch_tokens"],
                        args.warmup_steps + args.steps, args.threads, workdir)
                    events, _, code, stderr = run_bench.run_measured(cmd)
                    shutil.rmtree(out_dir, ignore_errors=True)
                    if code != 0:
                        sys.exit(f"flopwise-train exited {code}: {stderr.strip()[-2000:]}")
                    start = [e for e in events if e.get("event") == "start"]
                    if start and start[0].get("blas_core") != ran[core]:
                        print(f"# warning: flopwise-train ran {start[0].get('blas_core')}, "
                              f"numpy {ran[core]}", flush=True)
                    tokens[core].append(run_bench.steady_rate(events, args.warmup_steps))
    run_bench.apply_blas_core("env")
    # Ratios to the first core: of tokens/s when flopwise ran, else of sgemm.
    measured = tokens if args.flopwise_train else sgemm
    base = run_bench.summary(measured[cores[0]])[0]
    for core in cores:
        line = f"core {core} kernels={ran[core]} sgemm={run_bench.fmt_spread(sgemm[core], 1)}"
        if args.flopwise_train:
            line += f" tokens_per_s={run_bench.fmt_spread(tokens[core])}"
        vs_first = run_bench.ratio(run_bench.summary(measured[core])[0], base)
        print(f"{line} vs_first={run_bench.fmt(vs_first, 2)}", flush=True)
    print(f"# loadavg at the end: {run_bench.load_average()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
