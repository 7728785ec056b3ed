#!/usr/bin/python3
"""SciPy peer of flopwise's fits, run by flopwise_bench_fit on the same data.

Repeats each method as fitting/ defines it (docs/fitting.md): envelope on a
log-spaced grid with log-log interpolation, power laws by least squares in log
space, IsoFLOP parabolas, and approach 3 with scipy.optimize.least_squares,
loss='huber', f_scale=delta on log-loss residuals, from the same ranked grid
of starts. Bootstrap resamples use the run indices flopwise drew. Prints the
largest relative difference of every coefficient and the speed ratio.

Usage: scipy_peer.py DIR   (DIR holds records.csv and flopwise.json)
"""
import csv
import json
import math
import sys
import time
from collections import OrderedDict

import numpy as np
from scipy.optimize import least_squares

PF_DAY = 8.64e19
TOL = dict(ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=10000)


def load_runs(path):
    by_arch = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            by_arch.setdefault(row["arch"], {}).setdefault(row["run"], []).append(
                (float(row["tokens"]), float(row["flops"]), float(row["loss"]), float(row["n_params"])))
    archs = OrderedDict()
    for arch in sorted(by_arch):
        runs = []
        for name in sorted(by_arch[arch]):
            pts = sorted(by_arch[arch][name])
            runs.append({"run": name, "n": pts[0][3],
                         "c": np.array([p[1] / PF_DAY for p in pts]),
                         "d": np.array([p[0] for p in pts]),
                         "l": np.array([p[2] for p in pts])})
        archs[arch] = runs
    return archs


def interp(xs, ys, x):
    hi = np.searchsorted(xs, x, side="right")
    if hi == 0:
        return ys[0]
    if hi == len(xs):
        return ys[-1]
    lo = hi - 1
    t = (math.log(x) - math.log(xs[lo])) / (math.log(xs[hi]) - math.log(xs[lo]))
    return math.exp(math.log(ys[lo]) + t * (math.log(ys[hi]) - math.log(ys[lo])))


def grid(runs, points):
    lo = min(r["c"][0] for r in runs)
    hi = max(r["c"][-1] for r in runs)
    step = (math.log(hi) - math.log(lo)) / (points - 1)
    g = [math.exp(math.log(lo) + step * i) for i in range(points)]
    g[0], g[-1] = lo, hi
    return g


def power_law(x, y):
    lx, ly = np.log(x), np.log(y)
    if len(x) < 2 or np.ptp(lx) < 1e-12 or np.ptp(ly) < 1e-12:
        return None
    m = lx.mean()
    res = least_squares(lambda p: p[0] + p[1] * (lx - m) - ly, [ly.mean(), 0.0],
                        jac=lambda p: np.stack([np.ones_like(lx), lx - m], axis=1), **TOL)
    return math.exp(res.x[0] - res.x[1] * m), res.x[1]


def paper(runs, points):
    if len({r["n"] for r in runs}) < 2:
        return None
    cs, ls, ns, ds = [], [], [], []
    for c in grid(runs, points):
        best, best_loss = None, math.inf
        for r in runs:
            if c < r["c"][0] or c > r["c"][-1]:
                continue
            loss = interp(r["c"], r["l"], c)
            if loss < best_loss:
                best, best_loss = r, loss
        if best is None:
            continue
        cs.append(c), ls.append(best_loss), ns.append(best["n"]), ds.append(interp(best["c"], best["d"], c))
    laws = [power_law(np.array(cs), np.array(v)) for v in (ls, ns, ds)]
    return None if None in laws else laws


def approach2(runs, levels):
    slices = []
    for c in grid(runs, levels):
        by_size = {}
        for r in runs:
            if c < r["c"][0] or c > r["c"][-1]:
                continue
            p = (interp(r["c"], r["l"], c), interp(r["c"], r["d"], c))
            if r["n"] not in by_size or p[0] < by_size[r["n"]][0]:
                by_size[r["n"]] = p
        sizes = sorted(by_size)
        if len(sizes) < 3:
            continue
        losses = [by_size[n][0] for n in sizes]
        k = int(np.argmin(losses))
        if k == 0 or k == len(sizes) - 1:
            continue
        ln = np.log(sizes)
        ld = np.log([by_size[n][1] for n in sizes])
        y = np.array(losses)
        m = ln.mean()
        u = ln - m
        res = least_squares(lambda p: p[0] + p[1] * u + p[2] * u * u - y, [y.mean(), 0.0, 0.0],
                            jac=lambda p: np.stack([np.ones_like(u), u, u * u], axis=1), **TOL)
        c0, c1, c2 = res.x
        if not c2 > 0:
            continue
        u_opt = -c1 / (2 * c2)
        if u_opt + m < ln[0] or u_opt + m > ln[-1]:
            continue
        n_opt = math.exp(u_opt + m)
        slope = np.sum((ln - m) * (ld - ld.mean())) / np.sum((ln - m) ** 2)
        d_opt = math.exp(ld.mean() + slope * (u_opt + m - m))
        slices.append((c, n_opt, d_opt, c0 + c1 * u_opt + c2 * u_opt * u_opt))
    if len(slices) < 2:
        return None
    s = np.array(slices)
    laws = [power_law(s[:, 0], s[:, k]) for k in (1, 2, 3)]
    return None if None in laws else laws


def a3_points(runs):
    ln = np.concatenate([np.full(len(r["c"]), math.log(r["n"])) for r in runs])
    ld = np.concatenate([np.log(r["d"]) for r in runs])
    ll = np.concatenate([np.log(r["l"]) for r in runs])
    return ln, ld, ll


def a3_residual(p, ln, ld, ll):
    x = np.stack([p[0] - p[3] * ln, p[1] - p[4] * ld, np.full_like(ln, p[2])])
    m = x.max(axis=0)
    return m + np.log(np.exp(x - m).sum(axis=0)) - ll


def a3_jacobian(p, ln, ld, ll):
    x = np.stack([p[0] - p[3] * ln, p[1] - p[4] * ld, np.full_like(ln, p[2])])
    w = np.exp(x - x.max(axis=0))
    w /= w.sum(axis=0)
    return np.stack([w[0], w[1], w[2], -w[0] * ln, -w[1] * ld], axis=1)


def huber_sum(r, delta):
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)).sum(axis=-1)


def ranked_starts(pts, cfg):
    g = cfg["grid"]
    starts = np.array([(a, b, e, al, be) for a in g["log_a"] for b in g["log_b"] for e in g["log_e"]
                       for al in g["alpha"] for be in g["beta"]])
    ln, ld, ll = pts
    objective = np.empty(len(starts))
    for i in range(0, len(starts), 500):
        s = starts[i:i + 500, :, None]
        x = np.stack([s[:, 0] - s[:, 3] * ln, s[:, 1] - s[:, 4] * ld, np.broadcast_to(s[:, 2], (len(s), len(ln)))])
        m = x.max(axis=0)
        r = m + np.log(np.exp(x - m).sum(axis=0)) - ll
        objective[i:i + 500] = huber_sum(r, cfg["huber_delta"])
    return starts[np.argsort(objective, kind="stable")]


def approach3(pts, starts, delta):
    best = None
    for x0 in starts:
        res = least_squares(a3_residual, x0, jac=a3_jacobian, args=pts, loss="huber", f_scale=delta,
                            method="trf", **TOL)
        if res.status > 0 and (best is None or res.cost < best.cost):
            best = res
    return None if best is None else best.x


def coefs(runs, cfg, starts, method, timing):
    out, x, ranked = {}, None, None
    t0 = time.process_time()
    if method == "paper":
        p = paper(runs, cfg["envelope_grid_points"])
        if p:
            out.update(L_coef=p[0][0], L_exp=p[0][1], nopt_coef=p[1][0], nopt_exp=p[1][1],
                       dopt_coef=p[2][0], dopt_exp=p[2][1])
    elif method == "approach2":
        a2 = approach2(runs, cfg["isoflop_levels"])
        if a2:
            out.update(a2_nopt_coef=a2[0][0], a2_nopt_exp=a2[0][1], a2_dopt_coef=a2[1][0],
                       a2_dopt_exp=a2[1][1], a2_L_coef=a2[2][0], a2_L_exp=a2[2][1])
    else:
        pts = a3_points(runs)
        ranked = ranked_starts(pts, cfg) if starts is None else None
        x = approach3(pts, ranked[:cfg["solves"]] if starts is None else starts, cfg["huber_delta"])
        if x is not None:
            out.update(A=math.exp(x[0]), B=math.exp(x[1]), E=math.exp(x[2]), alpha=x[3], beta=x[4])
    timing[method] = timing.get(method, 0) + time.process_time() - t0
    return out, x, ranked


def holdout(runs, cfg, starts, method, timing):
    largest = max(range(len(runs)), key=lambda i: (runs[i]["c"][-1], runs[i]["n"]))
    return coefs([r for i, r in enumerate(runs) if i != largest], cfg, starts, method, timing)


def objective_gap(runs, ours, theirs, delta, worst):
    """Relative difference of the Huber objectives at the two optima."""
    if "alpha" not in ours or theirs.get("alpha") is None:
        return
    pts = a3_points(runs)
    def obj(c):
        p = [math.log(c["A"]), math.log(c["B"]), math.log(c["E"]), c["alpha"], c["beta"]]
        return huber_sum(a3_residual(np.array(p), *pts), delta)
    a, b = obj(ours), obj(theirs)
    worst["objective"] = max(worst.get("objective", 0), abs(a - b) / b)


def compare(ours, theirs, worst):
    for key, value in ours.items():
        other = theirs.get(key)
        if other is None:
            worst[key] = max(worst.get(key, 0), math.inf)
            continue
        worst[key] = max(worst.get(key, 0), abs(value - other) / max(abs(other), 1e-300))


def main():
    folder = sys.argv[1]
    cfg = json.load(open(folder + "/flopwise.json"))
    archs = load_runs(folder + "/records.csv")
    k = cfg["peer_resamples"]
    full_worst, boot_worst = {}, {}
    full_time, boot_time = {}, {}
    for arch_doc in cfg["archs"]:
        runs = archs[arch_doc["arch"]]
        starts = None
        for method in ("paper", "approach2", "approach3"):
            full, x, ranked = coefs(runs, cfg, None, method, full_time)
            if method == "approach3":
                starts = [x] + list(ranked[:cfg["bootstrap_solves"]])
            holdout(runs, cfg, starts, method, full_time)
            compare(full, arch_doc["coefs"], full_worst)
            if method == "approach3":
                objective_gap(runs, full, arch_doc["coefs"], cfg["huber_delta"], full_worst)
            for draw in arch_doc["draws"][:k]:
                resample = [runs[i] for i in draw["runs"]]
                boot, _, _ = coefs(resample, cfg, starts, method, boot_time)
                compare(boot, draw["coefs"], boot_worst)
                if method == "approach3":
                    objective_gap(resample, boot, draw["coefs"], cfg["huber_delta"], boot_worst)
    groups = OrderedDict(paper=["L_coef", "L_exp", "nopt_coef", "nopt_exp", "dopt_coef", "dopt_exp"],
                         approach2=["a2_L_coef", "a2_L_exp", "a2_nopt_coef", "a2_nopt_exp", "a2_dopt_coef",
                                    "a2_dopt_exp"],
                         approach3=["E", "A", "B", "alpha", "beta"],
                         approach3_objective=["objective"])
    print("coefficient agreement, max relative difference SciPy vs flopwise (target 1e-4):")
    for name, keys in groups.items():
        f = max((full_worst.get(key, 0) for key in keys), default=0)
        b = max((boot_worst.get(key, 0) for key in keys), default=0)
        print(f"  {name:10s} full fits {f:.2e}   {k} bootstrap resamples x {len(cfg['archs'])} archs {b:.2e}")
    total_scipy = 0
    for method in ("paper", "approach2", "approach3"):
        est = full_time[method] + boot_time[method] / max(k, 1) * cfg["resamples"]
        total_scipy += est
        ours = cfg["cpu_seconds"][method]
        print(f"{method:10s} scipy {full_time[method]:.2f} s full+holdout, "
              f"{boot_time[method] / max(k, 1):.4f} s per resample ({k} timed) -> {est:8.1f} s;"
              f" flopwise {ours:7.2f} s; ratio {est / ours:5.1f}x")
    ours = sum(cfg["cpu_seconds"].values())
    print(f"all methods: scipy {total_scipy:.1f} s, flopwise {ours:.1f} s, speed ratio "
          f"{total_scipy / ours:.1f}x (CPU time, one thread each, {cfg['resamples']} resamples)")


if __name__ == "__main__":
    main()
