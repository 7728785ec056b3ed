"""Checks a finished demo folder: the report and its figures exist, its fits
ran on validation loss, it has the evaluation tables and needle heatmaps, every
architecture's fit has finite coefficients, every run of the sweep succeeded
and has a checkpoint row at every interval of its config."""
import json
import math
import os
import re
import sqlite3
import sys

COEFS = ["L_coef", "L_exp", "nopt_coef", "nopt_exp", "dopt_coef", "dopt_exp",
         "E", "A", "B", "alpha", "beta"]


def expected_checkpoint_steps(plan):
    # runs.config_json is the protobuf JSON of a flopwise.v1 Run: 64-bit
    # integers are strings and fields at zero are left out.
    config = plan["config"]
    batch, total, every = (int(config.get(key, 0)) for key in
                           ("batch_tokens", "total_tokens", "checkpoint_every_tokens"))
    steps = total // batch
    want = {steps}  # the final checkpoint
    for s in range(1, steps):
        if every > 0 and (s * batch) // every > ((s - 1) * batch) // every:
            want.add(s)
    return want


def main(demo, archs):
    problems = []
    report = os.path.join(demo, "report")
    md_path = os.path.join(report, "report.md")
    if not os.path.isfile(md_path):
        sys.exit(f"missing {md_path}")
    md = open(md_path).read()
    for stem in ["overlay"] + [f"{a}_figure1" for a in archs]:
        for ext in ("svg", "png"):
            path = os.path.join(report, f"{stem}.{ext}")
            if not os.path.isfile(path) or os.path.getsize(path) == 0:
                problems.append(f"missing figure {path}")
        if f"({stem}.png)" not in md:
            problems.append(f"report.md does not link {stem}.png")
    for section in ("## Fitted laws", "## Compute-optimal allocation", "## Which architecture wins where"):
        if section not in md:
            problems.append(f"report.md lacks '{section}'")
    if "Fitted on validation loss." not in md:
        problems.append("report.md does not say it was fitted on validation loss")
    if "| records | final validation loss |" not in md:
        problems.append("report.md's runs table does not show the validation loss the fits used")
    if "## Evaluation" not in md:
        problems.append("report.md lacks '## Evaluation'")
    for arch in archs:
        table = re.search(rf"^### {re.escape(arch)}\n\n(\| run \|.*)$", md, re.M)
        if not table:
            problems.append(f"report.md has no evaluation table for {arch}")
            continue
        for column in ("validation loss", "NIAH score", "brown-continuation acc"):
            if column not in table.group(1):
                problems.append(f"evaluation table of {arch} lacks '{column}'")
    heatmaps = re.findall(r"\]\((heatmaps/[^)]+)\.png\)", md)
    if not heatmaps:
        problems.append("report.md links no needle heatmap")
    for stem in heatmaps:
        for ext in ("svg", "png"):
            if not os.path.isfile(os.path.join(report, f"{stem}.{ext}")):
                problems.append(f"missing heatmap {stem}.{ext}")
    if md.count("### C = ") != 3:
        problems.append(f"report.md has {md.count('### C = ')} budget sections, want 3")

    fit = json.load(open(os.path.join(report, "fit.json")))
    fitted = {a["arch"]: a for a in fit["archs"]}
    if sorted(fitted) != sorted(archs):
        problems.append(f"fit.json archs {sorted(fitted)}, want {sorted(archs)}")
    for arch, a in fitted.items():
        for key in COEFS:
            v = a.get(key)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                problems.append(f"fit.json {arch}.{key} = {v!r}: not a finite number")

    db = sqlite3.connect(f"file:{os.path.join(demo, 'flopwise.db')}?mode=ro", uri=True)
    runs = db.execute("SELECT run_id, arch, name, state, config_json FROM runs").fetchall()
    if sorted({r[1] for r in runs}) != sorted(archs):
        problems.append(f"runs of {sorted({r[1] for r in runs})} in the database, want {sorted(archs)}")
    for run_id, _, name, state, config_json in runs:
        if state != "succeeded":
            problems.append(f"run {name}: state {state}")
        have = {s for (s,) in db.execute(
            "SELECT DISTINCT step FROM checkpoints WHERE run_id = ? AND superseded = 0", (run_id,))}
        missing = expected_checkpoint_steps(json.loads(config_json)) - have
        if missing:
            problems.append(f"run {name}: no checkpoint row at steps {sorted(missing)}")
    if problems:
        sys.exit("demo check failed:\n  " + "\n  ".join(problems))
    print(f"demo check: {len(runs)} runs succeeded, report and {len(fitted)} finite fits in {report}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
