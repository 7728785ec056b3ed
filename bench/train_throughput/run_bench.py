"""Training throughput of flopwise-train against its PyTorch peer (CPU, float32).

For each architecture and config it runs a full training step (forward,
backward, AdamW) on synthetic tokens in `flopwise-train` and in torch_peer.py,
--repeats times each, interleaved (ours, PyTorch, ours, PyTorch, ...), and
prints the median and the min-max spread of each side and of the per-repeat
ratio:

  <arch> <config> ours=<tokens/s> [min-max] torch=<tokens/s> [min-max] ratio=<ours/torch> [min-max] n=<repeats>
  rss <arch> <config> ours=<MiB> torch=<MiB> estimate=<MiB> ours/estimate=<ratio>

Before its repeats the PyTorch side is tuned as a user would: one run per
thread setting (intra-op threads N or 1 with N BLAS threads set through the
environment before torch is imported, and torch's default BLAS threads with
N intra-op threads; and N intra-op threads on OpenBLAS's OpenMP build, the
one flopwise links, where the two share one thread pool, there also with
torch's own kernels at AVX-512 where the CPU has it), the fastest kept
(`torch_threads` line). Then come the MFU of configs A and B under the
paper's FLOP formula (alone and with the LM head's 6dv) against the
machine's sgemm FLOP/s (numpy float32 2048^3, the faster of Debian's default
OpenBLAS and its OpenMP build, measured before and after the runs, the
higher kept), the context-4096 / context-256 throughput ratio of every
architecture (about 1 for the linear models; LLaMA's falls as its attention
grows), and for the small-model config S each architecture's tokens/s
relative to LLaMA's at the same size. Warm-up steps are skipped on both
sides; tokens/s is the harmonic mean of the per-step rates that the programs
report. Every side runs the same OpenBLAS kernels (--blas-core; the header
names them, and a warning line appears if flopwise-train's `start` event
reports others than numpy ran). Without --flopwise-train only the PyTorch
side runs and every `ours` field reads n/a. The load average (/proc/loadavg)
is printed at the start and at the end.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
ARCHS = ("llama", "tnl", "hgrn2", "cos2")


def ffn_dim(d, multiple=256):
    """§8.3: g = multiple · ceil(8d / (3 · multiple)); the CPU presets use multiple 64."""
    return multiple * -(-8 * d // (3 * multiple))


def make_config(d, layers, heads, vocab, context, batch_tokens, ffn_multiple=256, threads=None):
    """threads: None for --threads, else a fixed count for both sides."""
    return {"d_model": d, "layers": layers, "heads": heads, "vocab": vocab, "context": context,
            "ffn_dim": ffn_dim(d, ffn_multiple), "batch_tokens": batch_tokens,
            "threads": threads}


def small_config(d, layers, heads):
    """The one-command study's models: byte vocabulary, context 256, one thread a run."""
    return make_config(d, layers, heads, 264, 256, batch_tokens=2048, ffn_multiple=64, threads=1)


# Each config name stands for one or more (label, dims) rows.
CONFIGS = {
    "A": [("A", make_config(256, 4, 4, 8192, 256, batch_tokens=4096))],
    "B": [("B", make_config(512, 6, 8, 32768, 512, batch_tokens=2048))],
    "S": [("S-2x32", small_config(32, 2, 2)), ("S-2x64", small_config(64, 2, 4)),
          ("S-3x80", small_config(80, 3, 5)), ("S-4x128", small_config(128, 4, 4))],
}


def paper_flops_per_token(arch, cfg):
    """Non-embedding training FLOPs per token, paper Table 1 forms (§8.2), b·n divided out."""
    d, l, h, n = cfg["d_model"], cfg["layers"], cfg["heads"], cfg["context"]
    base = 72 * l * d * d
    if arch == "llama":
        return base * (1 + n / (6 * d) + 5 / (18 * d))
    if arch == "tnl":
        return base * (1 + 1 / (2 * h) + 5 / (18 * d))
    if arch == "hgrn2":
        return base * (1 + 1 / (3 * h) + 29 / (72 * d))
    return base * (1 + 3 / (4 * h) + 23 / (72 * d)) + 12 * d * d / h


def lm_head_flops_per_token(cfg):
    """Actual LM-head training FLOPs per token (forward 2dv, backward 4dv)."""
    return 6 * cfg["d_model"] * cfg["vocab"]


def run_measured(cmd, env=None):
    """Runs `cmd`, returns (stdout JSON objects, peak RSS in MiB, exit code, stderr)."""
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        events = []
        for line in proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                events.append(json.loads(line))
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return events, usage.ru_maxrss / 1024.0, proc.returncode, err.read()


def steady_rate(events, warmup_steps):
    """Harmonic mean of tokens_per_s over the progress events after the warm-up."""
    rates = [e["tokens_per_s"] for e in events
             if e.get("event") == "progress" and e["step"] > warmup_steps]
    if not rates:
        return None
    return len(rates) / sum(1.0 / r for r in rates)


def write_tokens(path, vocab, count, seed):
    rng = np.random.default_rng(seed)
    rng.integers(0, vocab, size=count, dtype=np.uint32).astype("<u4").tofile(path)


def train_command(flopwise_train, arch, cfg, batch_tokens, steps, threads, workdir):
    """The flopwise-train command line of `steps` steps on synthetic tokens (the token file is
    written into workdir once) and the fresh output folder it writes to."""
    data = os.path.join(workdir, f"tokens-v{cfg['vocab']}-{batch_tokens}.u32")
    if not os.path.exists(data):
        write_tokens(data, cfg["vocab"], 2 * steps * batch_tokens + cfg["context"] + 1, seed=1)
    out_dir = tempfile.mkdtemp(prefix=f"run-{arch}-", dir=workdir)
    cmd = [flopwise_train, "--arch", arch, "--layers", cfg["layers"], "--d-model",
           cfg["d_model"], "--heads", cfg["heads"], "--ffn-dim", cfg["ffn_dim"], "--vocab",
           cfg["vocab"], "--context", cfg["context"], "--data", data, "--batch-tokens",
           batch_tokens, "--total-tokens", steps * batch_tokens, "--lr", "3e-4",
           "--weight-decay", "0.1", "--schedule", "constant", "--seed", "1",
           "--checkpoint-every-tokens", "0", "--log-every-steps", "1",
           "--out", out_dir, "--threads", threads]
    return [str(c) for c in cmd], out_dir


def run_ours(args, arch, cfg, batch_tokens, threads, workdir):
    cmd, out_dir = train_command(args.flopwise_train, arch, cfg, batch_tokens,
                                 args.warmup_steps + args.steps, threads, workdir)
    events, rss, code, stderr = run_measured(cmd)
    shutil.rmtree(out_dir, ignore_errors=True)
    if code != 0:
        raise RuntimeError(f"flopwise-train {arch} exited {code}: {stderr.strip()[-2000:]}")
    done = [e for e in events if e.get("event") == "done"]
    estimate = done[0]["memory_estimate_bytes"] / 2**20 if done else None
    start = [e for e in events if e.get("event") == "start"]
    core = start[0].get("blas_core") if start else None
    return steady_rate(events, args.warmup_steps), rss, estimate, core


# OpenBLAS's OpenMP build, the one flopwise links (cmake/FlopwiseDeps.cmake):
# torch and numpy load it instead of Debian's default (pthreads) build when
# this folder comes first on LD_LIBRARY_PATH. None where it is not installed.
OPENMP_BLAS_DIR = next((d for d in ("/usr/lib/x86_64-linux-gnu/openblas-openmp",
                                    "/usr/lib/aarch64-linux-gnu/openblas-openmp")
                        if os.path.exists(os.path.join(d, "libopenblas.so.0"))), None)


def blas_env(threads, openmp_blas):
    """The environment of a child that loads the BLAS with `threads` threads (None: its
    default), from OpenBLAS's OpenMP build when openmp_blas."""
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
        if threads is not None:
            env[name] = str(threads)  # read by the BLAS when it is loaded
    if openmp_blas:
        env["LD_LIBRARY_PATH"] = ":".join(
            p for p in (OPENMP_BLAS_DIR, os.environ.get("LD_LIBRARY_PATH")) if p)
    return env


def cpu_has_avx512():
    with open("/proc/cpuinfo") as f:
        return any(line.startswith("flags") and " avx512f" in line for line in f)


def torch_thread_settings(threads):
    """(label, intra-op threads, BLAS threads or None for the library's default, whether the
    BLAS is OpenBLAS's OpenMP build, whether torch's own kernels use AVX-512), deduplicated.
    With the OpenMP build, torch's intra-op threads and the BLAS's are one pool. Torch runs
    its own kernels (norms, activations, softmax, AdamW) at AVX2 unless
    ATEN_CPU_CAPABILITY=avx512 asks for more, so that is tried where the CPU has it."""
    settings = [(f"intra{threads}-blas{threads}", threads, threads, False, False),
                (f"intra1-blas{threads}", 1, threads, False, False),
                (f"intra{threads}-blasdefault", threads, None, False, False)]
    if OPENMP_BLAS_DIR is not None:
        settings.append((f"intra{threads}-openmp-blas", threads, threads, True, False))
        if cpu_has_avx512():
            settings.append((f"intra{threads}-openmp-blas-aten-avx512", threads, threads, True,
                             True))
    seen, unique = set(), []
    for setting in settings:
        if setting[1:] not in seen:
            seen.add(setting[1:])
            unique.append(setting)
    return unique


def run_torch(args, arch, cfg, batch_tokens, setting):
    _, intra, blas, openmp_blas, aten_avx512 = setting
    cmd = [PYTHON, os.path.join(HERE, "torch_peer.py"), "--arch", arch, "--steps",
           args.warmup_steps + args.steps, "--threads", intra, "--batch-tokens", batch_tokens]
    for key in ("layers", "d_model", "heads", "ffn_dim", "vocab", "context"):
        cmd += ["--" + key.replace("_", "-"), cfg[key]]
    env = blas_env(blas, openmp_blas)
    if aten_avx512:
        env["ATEN_CPU_CAPABILITY"] = "avx512"
    events, rss, code, stderr = run_measured([str(c) for c in cmd], env=env)
    if code != 0:
        raise RuntimeError(f"torch_peer {arch} exited {code}: {stderr.strip()[-2000:]}")
    forms = [e for e in events if e.get("event") == "attention_form"]
    return steady_rate(events, args.warmup_steps), rss, forms[0] if forms else None


def measure_sgemm(threads, openmp_blas, size=2048, repeats=5):
    """(Best-of sgemm FLOP/s through numpy with `threads` threads, OpenBLAS's name for the
    kernels that ran it), on Debian's default OpenBLAS or on its OpenMP build."""
    code = (
        "import ctypes, time, numpy as np\n"
        f"n = {size}\n"
        "a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)\n"
        "a @ b\n"
        "best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter())"
        f" for _ in range({repeats}))\n"
        "lib = next(l.split()[-1] for l in open('/proc/self/maps') if 'libopenblas' in l)\n"
        "corename = ctypes.CDLL(lib).openblas_get_corename\n"
        "corename.restype = ctypes.c_char_p\n"
        "print(2.0 * n ** 3 / best, corename().decode())\n")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                         env=blas_env(threads, openmp_blas), check=True)
    flops, core = out.stdout.split()
    return float(flops), core


# OPENBLAS_CORETYPE as this process was started with it, what --blas-core env restores.
INHERITED_CORETYPE = os.environ.get("OPENBLAS_CORETYPE")


def apply_blas_core(choice):
    """Sets the OpenBLAS kernels of every child (flopwise-train, PyTorch, numpy) through this
    process's environment, which they all inherit: "env" keeps OPENBLAS_CORETYPE as the
    environment had it at start, "auto" removes it (OpenBLAS picks for the CPU), any other
    value is set as OPENBLAS_CORETYPE. Returns a line describing the choice."""
    inherited = INHERITED_CORETYPE
    if choice == "auto":
        os.environ.pop("OPENBLAS_CORETYPE", None)
        return ("OPENBLAS_CORETYPE removed for every side (--blas-core auto; the environment "
                f"had {inherited or 'none'}): OpenBLAS picks its kernels for the CPU")
    if choice != "env":
        os.environ["OPENBLAS_CORETYPE"] = choice
        return f"OPENBLAS_CORETYPE={choice} for every side (--blas-core)"
    if inherited is None:
        os.environ.pop("OPENBLAS_CORETYPE", None)
        return "OPENBLAS_CORETYPE not set: OpenBLAS picks its kernels for the CPU"
    os.environ["OPENBLAS_CORETYPE"] = inherited
    return (f"OPENBLAS_CORETYPE={inherited} from the environment for every side "
            "(--blas-core auto removes it)")


def measure_sgemm_all_builds(threads):
    """({build: sgemm FLOP/s} of Debian's default OpenBLAS and, where installed, its OpenMP
    build; OpenBLAS's kernel name)."""
    flops, core = measure_sgemm(threads, openmp_blas=False)
    by_build = {"default": flops}
    if OPENMP_BLAS_DIR is not None:
        by_build["openmp"], core = measure_sgemm(threads, openmp_blas=True)
    return by_build, core


def print_sgemm(when, by_build, core, threads):
    builds = ", ".join(f"{k} OpenBLAS {v / 1e9:.1f}" for k, v in by_build.items())
    print(f"sgemm at the {when} {max(by_build.values()) / 1e9:.1f} GFLOP/s (numpy float32 "
          f"2048^3, {threads} threads, OpenBLAS's {core} kernels; {builds})", flush=True)


def fmt(value, digits=0):
    return "n/a" if value is None else f"{value:.{digits}f}"


def summary(values):
    """Median and (min, max) of the values that are not None, or Nones."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def fmt_spread(values, digits=0):
    median, low, high = summary(values)
    if median is None:
        return "n/a"
    return f"{median:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]"


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().strip()


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flopwise-train", help="flopwise-train program; omit for PyTorch only")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--configs", default="A,B",
                        help="comma-separated subset of A,B,S (S: the small study models, "
                             "one thread a run)")
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--batch-tokens", type=int, default=0,
                        help="tokens per step (default: 4096 for A, 2048 for B and S; at least one sequence)")
    parser.add_argument("--warmup-steps", type=int, default=3,
                        help="steps run before the measured ones on both sides (PyTorch's rate "
                             "climbs over its first three steps on the CPU)")
    parser.add_argument("--steps", type=int, default=3, help="measured steps after warm-up")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs per side, interleaved; medians and min-max are reported")
    parser.add_argument("--long-context", type=int, default=4096,
                        help="context of the long-sequence run at config A (0: skip)")
    parser.add_argument("--blas-core", default="env",
                        help="OpenBLAS kernels of every side: env (OPENBLAS_CORETYPE as the "
                             "environment has it), auto (removed: OpenBLAS picks for the CPU), "
                             "or a core name such as Haswell or SkylakeX")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    args = parser.parse_args()
    archs = [a for a in args.archs.split(",") if a]
    configs = [c for c in args.configs.split(",") if c]
    for a in archs:
        if a not in ARCHS:
            parser.error(f"--archs: unknown architecture {a!r}")
    for c in configs:
        if c not in CONFIGS:
            parser.error(f"--configs: unknown config {c!r} (A, B or S)")
    if args.repeats < 1:
        parser.error("--repeats: at least 1")
    if args.flopwise_train and not os.access(args.flopwise_train, os.X_OK):
        parser.error(f"--flopwise-train: {args.flopwise_train} is not an executable file")

    report = {"threads": args.threads, "warmup_steps": args.warmup_steps, "steps": args.steps,
              "repeats": args.repeats, "load_average_start": load_average(), "runs": []}
    print(f"# threads={args.threads} warmup_steps={args.warmup_steps} measured_steps="
          f"{args.steps} repeats={args.repeats}"
          + ("" if args.flopwise_train else " (PyTorch side only)"), flush=True)
    print(f"# loadavg at the start: {report['load_average_start']}", flush=True)
    report["blas_core_choice"] = apply_blas_core(args.blas_core)
    print(f"# {report['blas_core_choice']}", flush=True)
    sgemm_start, core = measure_sgemm_all_builds(args.threads)
    report["blas_core"] = core
    print_sgemm("start", sgemm_start, core, args.threads)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as workdir:

        def measure(arch, name, cfg):
            start = time.perf_counter()
            batch_tokens = max(args.batch_tokens or cfg["batch_tokens"], cfg["context"])
            threads = cfg["threads"] or args.threads
            # The PyTorch side's thread setting, tuned once: the fastest of one run each.
            tuning = {}
            for setting in torch_thread_settings(threads):
                tuning[setting] = run_torch(args, arch, cfg, batch_tokens, setting)[0] or 0.0
            setting = max(tuning, key=tuning.get)
            print(f"torch_threads {arch} {name} won={setting[0]} ("
                  + ", ".join(f"{s[0]}={r:.0f}" for s, r in tuning.items()) + " tokens/s)",
                  flush=True)
            ours, theirs, ours_rss, theirs_rss = [], [], [], []
            estimate = form = None
            for _ in range(args.repeats):
                if args.flopwise_train:
                    rate, rss, estimate, ours_core = run_ours(args, arch, cfg, batch_tokens,
                                                              threads, workdir)
                    if ours_core != report["blas_core"]:
                        print(f"# warning: flopwise-train ran OpenBLAS's {ours_core} kernels, "
                              f"numpy its {report['blas_core']}", flush=True)
                    ours.append(rate)
                    ours_rss.append(rss)
                rate, rss, form = run_torch(args, arch, cfg, batch_tokens, setting)
                theirs.append(rate)
                theirs_rss.append(rss)
            ratios = [ratio(a, b) for a, b in zip(ours, theirs)]
            run = {"arch": arch, "config": name, "context": cfg["context"],
                   "batch_tokens": batch_tokens, "threads": threads,
                   "ours": summary(ours)[0], "torch": summary(theirs)[0],
                   "ratio": summary(ratios)[0], "ours_all": ours, "torch_all": theirs,
                   "ratio_all": ratios,
                   "rss_ours_mib": max(ours_rss) if ours_rss else None,
                   "rss_torch_mib": max(theirs_rss), "memory_estimate_mib": estimate,
                   "torch_threads": setting[0],
                   "torch_tuning": {s[0]: r for s, r in tuning.items()},
                   "torch_attention_form": form,
                   "wall_s": time.perf_counter() - start}
            report["runs"].append(run)
            results[(arch, name)] = run
            print(f"{arch} {name} ours={fmt_spread(ours)} torch={fmt_spread(theirs)} "
                  f"ratio={fmt_spread(ratios, 3)} n={args.repeats}", flush=True)
            print(f"rss {arch} {name} ours={fmt(run['rss_ours_mib'])} "
                  f"torch={fmt(run['rss_torch_mib'])} estimate={fmt(estimate)} (MiB) "
                  f"ours/estimate={fmt(ratio(run['rss_ours_mib'], estimate), 2)}", flush=True)

        for name in configs:
            for label, cfg in CONFIGS[name]:
                for arch in archs:
                    measure(arch, label, cfg)
                if name == "S" and "llama" in archs:
                    # The study compares architectures at equal size: each against LLaMA.
                    base = results[("llama", label)]
                    for arch in archs:
                        run = results[(arch, label)]
                        print(f"vs_llama {arch} {label} "
                              f"ours={fmt(ratio(run['ours'], base['ours']), 3)} "
                              f"torch={fmt(ratio(run['torch'], base['torch']), 3)}", flush=True)
        if args.long_context and "A" in configs:
            long_cfg = dict(CONFIGS["A"][0][1], context=args.long_context)
            # All four: the linear models should hold their rate, LLaMA's falls.
            for arch in archs:
                measure(arch, f"A@{args.long_context}", long_cfg)
                base, long_run = results[(arch, "A")], results[(arch, f"A@{args.long_context}")]
                print(f"context {arch} {args.long_context}/256 ours="
                      f"{fmt(ratio(long_run['ours'], base['ours']), 3)} torch="
                      f"{fmt(ratio(long_run['torch'], base['torch']), 3)}", flush=True)

    # The MFU reference: the higher of the sgemm rates measured before and after the runs,
    # each the faster of the two OpenBLAS builds (the machine drifts during a long bench).
    sgemm_end, _ = measure_sgemm_all_builds(args.threads)
    print_sgemm("end", sgemm_end, core, args.threads)
    sgemm = max(max(sgemm_start.values()), max(sgemm_end.values()))
    report["sgemm_flops_per_s"] = sgemm
    report["sgemm_flops_per_s_by_blas"] = {"start": sgemm_start, "end": sgemm_end}
    print(f"sgemm {sgemm / 1e9:.1f} GFLOP/s: the MFU reference", flush=True)
    for name in ("A", "B"):
        if name not in configs:
            continue
        cfg = CONFIGS[name][0][1]
        for arch in archs:
            run = results[(arch, name)]
            paper = paper_flops_per_token(arch, cfg)
            full = paper + lm_head_flops_per_token(cfg)
            mfu = {side: (None if run[side] is None else 100 * run[side] * paper / sgemm)
                   for side in ("ours", "torch")}
            mfu_full = {side: (None if run[side] is None else 100 * run[side] * full / sgemm)
                        for side in ("ours", "torch")}
            run.update(mfu_paper_pct=mfu, mfu_with_lm_head_pct=mfu_full,
                       paper_flops_per_token=paper)
            print(f"mfu {arch} {name} ours={fmt(mfu['ours'], 1)}% torch={fmt(mfu['torch'], 1)}% "
                  f"(paper non-embedding {paper / 1e6:.1f} MFLOP/token); with LM head 6dv: "
                  f"ours={fmt(mfu_full['ours'], 1)}% torch={fmt(mfu_full['torch'], 1)}%",
                  flush=True)
    report["load_average_end"] = load_average()
    print(f"# loadavg at the end: {report['load_average_end']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
