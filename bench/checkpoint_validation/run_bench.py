"""What validation at every checkpoint adds to a training run's wall time.

The same flopwise-train run (a demo-sized model on byte-level Brown) is timed
with validation at every checkpoint (the default size: all validations
together within 5% of the training compute, docs/training.md "Validation")
and with --no-validation, --repeats times each, interleaved (the order
alternates every repeat), on a fresh run directory each time. It prints the
median and min-max of each side's wall time and of the per-repeat overhead
(with / without - 1), the validation tokens per checkpoint and the share of
the training tokens they add up to, and the load average (/proc/loadavg) at
the start and at the end: a figure is only worth recording when the machine
was quiet (docs/perf.md).

  with=<s> [min-max] without=<s> [min-max] overhead=<%> [min-max] n=<repeats>

--data takes a dataset of `flopwise data prepare` with a validation split;
without it the driver prepares byte-level Brown with --flopwise.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def prepare_brown(flopwise, out):
    subprocess.run([flopwise, "data", "prepare", "--tokenizer", "byte", "--input", "brown",
                    "--out", out], check=True, stdout=subprocess.DEVNULL)


def train(args, out, validate):
    """Runs one training; returns (wall seconds, checkpoint events)."""
    cmd = [args.flopwise_train, "--arch", args.arch, "--preset", args.preset, "--vocab", "264",
           "--context", str(args.context), "--data", args.data,
           "--batch-tokens", str(args.batch_tokens), "--total-tokens", str(args.total_tokens),
           "--lr", "2e-3", "--checkpoint-every-tokens",
           str(args.total_tokens // args.checkpoints), "--log-every-steps", "1000000",
           "--threads", str(args.threads), "--out", out]
    if not validate:
        cmd.append("--no-validation")
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"flopwise-train failed ({proc.returncode}): {proc.stderr}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return seconds, [e for e in events if e.get("event") == "checkpoint"]


def spread(values, fmt):
    return (f"{fmt.format(statistics.median(values))} "
            f"[{fmt.format(min(values))}-{fmt.format(max(values))}]")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flopwise-train", required=True)
    parser.add_argument("--flopwise", help="prepares Brown when --data is not given")
    parser.add_argument("--data")
    parser.add_argument("--arch", default="llama")
    parser.add_argument("--preset", default="cpu-1")
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--batch-tokens", type=int, default=2048)
    parser.add_argument("--total-tokens", type=int, default=1_024_000)
    parser.add_argument("--checkpoints", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    print(f"load average at start: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="flopwise-validation-bench-") as work:
        if args.data is None:
            if args.flopwise is None:
                sys.exit("give --data or --flopwise (to prepare byte-level Brown)")
            args.data = os.path.join(work, "brown-byte")
            prepare_brown(args.flopwise, args.data)
        times = {True: [], False: []}
        validation_tokens = None
        for repeat in range(args.repeats):
            order = (True, False) if repeat % 2 == 0 else (False, True)
            for validate in order:
                out = os.path.join(work, f"run-{repeat}-{int(validate)}")
                seconds, checkpoints = train(args, out, validate)
                times[validate].append(seconds)
                if validate:
                    validation_tokens = [c["validation_tokens"] for c in checkpoints]
                    if not all(validation_tokens):
                        sys.exit(f"{args.data}: no validation ran (no validation split?)")
        overhead = [100.0 * (w / wo - 1.0) for w, wo in zip(times[True], times[False])]
    validated = sum(validation_tokens)
    print(f"{args.arch} {args.preset} context {args.context}, {args.total_tokens} tokens, "
          f"{len(validation_tokens)} checkpoints, {validation_tokens[0]} validation tokens each "
          f"({100.0 * validated / args.total_tokens:.1f}% of the training tokens), "
          f"{args.threads} thread(s)")
    print(f"with={spread(times[True], '{:.2f}')}s without={spread(times[False], '{:.2f}')}s "
          f"overhead={spread(overhead, '{:.1f}')}% n={args.repeats}")
    print(f"load average at end: {load_average()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"with_s": times[True], "without_s": times[False],
                       "overhead_percent": overhead, "validation_tokens": validation_tokens,
                       "config": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
