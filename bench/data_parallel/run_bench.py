"""Data-parallel efficiency of flopwise-train (docs/distributed.md).

For each architecture at a config of the training bench (bench/train_throughput,
default B) it trains the same global batch two ways, --repeats times each,
interleaved (one process, two ranks, one process, ...):

  one process with --threads T·R, and R ranks (Gloo over loopback, a file
  rendezvous) with --threads T each

and prints the median and min-max of each side's tokens/s (rank 0's progress
events: the global batch's tokens), of the per-repeat efficiency
ranks/process, and of the fraction of rank 0's gradient all-reduce time
hidden behind its backward pass (1 - waited / all-reduce seconds, from its
progress events):

  <arch> <config> process=<tokens/s> [min-max] ranks=<tokens/s> [min-max] efficiency=<ratio> [min-max] overlap=<fraction> [min-max] n=<repeats>

--no-overlap-grad-reduce runs the ranks with the all-reduce after the
backward pass (overlap then near 0), to compare with the default.

Warm-up steps are skipped; tokens/s is the harmonic mean of the per-step
rates. The load average (/proc/loadavg) is printed at the start and at the
end: figures taken on a busy machine say little.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train_throughput"))
from run_bench import (ARCHS, CONFIGS, fmt_spread, load_average, ratio, steady_rate,  # noqa: E402
                       write_tokens)


def train_command(args, arch, cfg, data, out_dir, threads):
    steps = args.warmup_steps + args.steps
    return [str(c) for c in [
        args.flopwise_train, "--arch", arch, "--layers", cfg["layers"], "--d-model",
        cfg["d_model"], "--heads", cfg["heads"], "--ffn-dim", cfg["ffn_dim"], "--vocab",
        cfg["vocab"], "--context", cfg["context"], "--data", data, "--batch-tokens",
        cfg["batch_tokens"], "--total-tokens", steps * cfg["batch_tokens"], "--lr", "3e-4",
        "--seed", "1", "--checkpoint-every-tokens", "0", "--log-every-steps", "1",
        "--no-validation", "--out", out_dir, "--threads", threads]]


def all_reduce_overlap(events, warmup_steps):
    """1 - waited / all-reduce seconds over the progress events after the warm-up."""
    steady = [e for e in events if e.get("event") == "progress" and e["step"] > warmup_steps
              and "allreduce_s_per_step" in e]
    reduce_s = sum(e["allreduce_s_per_step"] for e in steady)
    if reduce_s <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - sum(e["allreduce_wait_s_per_step"] for e in steady) / reduce_s))


def run_ranks(args, arch, cfg, data, workdir, ranks, threads):
    """Tokens/s and all-reduce overlap (None for one process) of `ranks`
    processes (1: no rendezvous) training one run."""
    out_dir = tempfile.mkdtemp(prefix=f"run-{arch}-", dir=workdir)
    command = train_command(args, arch, cfg, data, out_dir, threads)
    procs = []
    rendezvous = tempfile.mkdtemp(prefix="rendezvous-", dir=workdir)
    for rank in range(ranks):
        extra = [] if ranks == 1 else ["--world-size", str(ranks), "--rank", str(rank),
                                       "--rendezvous", "file:" + rendezvous]
        if ranks > 1 and args.no_overlap_grad_reduce:
            extra.append("--no-overlap-grad-reduce")
        procs.append(subprocess.Popen(command + extra, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate() for p in procs]
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(rendezvous, ignore_errors=True)
    for rank, (p, (_, err)) in enumerate(zip(procs, outputs)):
        if p.returncode != 0:
            raise RuntimeError(f"{arch} rank {rank} of {ranks} exited {p.returncode}: "
                               f"{err.strip()[-2000:]}")
    events = [json.loads(line) for line in outputs[0][0].splitlines() if line.startswith("{")]
    return steady_rate(events, args.warmup_steps), all_reduce_overlap(events, args.warmup_steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flopwise-train", required=True)
    parser.add_argument("--configs", default="B", help="comma-separated: A, B (the training bench's)")
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--threads-per-rank", type=int, default=1)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs per side, interleaved; medians and min-max are reported")
    parser.add_argument("--no-overlap-grad-reduce", action="store_true",
                        help="ranks all-reduce after the backward pass, not during it")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    report = {"load_average_start": load_average(), "rows": []}
    print(f"# loadavg at the start: {report['load_average_start']}", flush=True)
    workdir = tempfile.mkdtemp(prefix="flopwise-dp-bench-")
    try:
        for name in args.configs.split(","):
            for label, cfg in CONFIGS[name]:
                cfg = dict(cfg)
                sequences = cfg["batch_tokens"] // cfg["context"]
                if sequences % args.ranks:
                    raise SystemExit(f"config {label}: {sequences} sequences per step do not "
                                     f"split over {args.ranks} ranks")
                data = os.path.join(workdir, f"tokens-{label}.u32")
                steps = args.warmup_steps + args.steps
                write_tokens(data, cfg["vocab"], 2 * steps * cfg["batch_tokens"] +
                             cfg["context"] + 1, seed=1)
                for arch in args.archs.split(","):
                    process, ranks, overlap = [], [], []
                    for _ in range(args.repeats):
                        process.append(run_ranks(args, arch, cfg, data, workdir, 1,
                                                 args.ranks * args.threads_per_rank)[0])
                        rate, hidden = run_ranks(args, arch, cfg, data, workdir, args.ranks,
                                                 args.threads_per_rank)
                        ranks.append(rate)
                        overlap.append(hidden)
                    efficiency = [ratio(r, p) for r, p in zip(ranks, process)]
                    print(f"{arch} {label} process={fmt_spread(process)} "
                          f"ranks={fmt_spread(ranks)} efficiency={fmt_spread(efficiency, 3)} "
                          f"overlap={fmt_spread(overlap, 3)} n={args.repeats}", flush=True)
                    report["rows"].append({"arch": arch, "config": label, "process": process,
                                           "ranks": ranks, "efficiency": efficiency,
                                           "allreduce_overlap": overlap,
                                           "overlap_grad_reduce":
                                               not args.no_overlap_grad_reduce})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_average_end"] = load_average()
    print(f"# loadavg at the end: {report['load_average_end']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
