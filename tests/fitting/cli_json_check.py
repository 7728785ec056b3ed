#!/usr/bin/python3
"""Checks `flopwise fit/optimal --json` on a fixture file and a bad input.

Usage: cli_json_check.py FLOPWISE_BINARY FIXTURE_CSV
"""
import json
import math
import os
import subprocess
import sys
import tempfile

REQUIRED = ["arch", "unit", "L_coef", "L_exp", "nopt_coef", "nopt_exp", "dopt_coef", "dopt_exp",
            "E", "A", "B", "alpha", "beta"]


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=300)


def check_optimal(binary, fixture):
    """`optimal`: the answer first, refusals, loud extrapolation, --envelope."""
    base = ["optimal", "--input", fixture, "--method", "paper"]
    out = run(binary, *base, "--budget", "1e21")  # inside the fixture's data
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("compute-optimal at C = 1e+21 FLOPs (fitted on training loss)\n"), \
        out.stdout[:200]
    first = out.stdout.splitlines()[1]
    assert "N_opt" in first and "D_opt" in first and "loss" in first, first
    assert out.stdout.index("N_opt") < out.stdout.index("details"), out.stdout[:400]
    assert "EXTRAPOLATION" not in out.stdout
    assert "pareto envelope" in out.stdout

    for budget in ["0", "-1"]:
        out = run(binary, *base, "--budget=" + budget)
        assert out.returncode != 0, (budget, out.stdout)
        assert "budget: must be positive and finite" in out.stderr, out.stderr

    out = run(binary, *base, "--budget", "1e30")
    assert out.returncode != 0, out.stdout
    assert "decades outside the fitted compute range" in out.stderr, out.stderr
    assert "--extrapolate" in out.stderr, out.stderr
    out = run(binary, *base, "--budget", "1e30", "--extrapolate")
    assert out.returncode == 0, out.stderr
    assert "!! EXTRAPOLATION (llama): the budget is 8.1 decades outside" in out.stdout, out.stdout
    assert "inf decades" not in out.stdout

    out = run(binary, *base, "--budget", "1e21", "--envelope", "paper", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["envelope"] == "paper"


def main():
    binary, fixture = sys.argv[1], sys.argv[2]
    out = run(binary, "fit", "--input", fixture, "--unit", "pfdays", "--bootstrap", "20", "--json")
    assert out.returncode == 0, out.stderr
    assert "nan" not in out.stdout.lower(), "NaN printed"
    doc = json.loads(out.stdout)
    assert doc["unit"] == "pfdays" and doc["unit_name"] == "PF-days", doc["unit"]
    assert doc["envelope"] == "pareto", doc["envelope"]
    assert doc["metric"] == "train", doc["metric"]  # the fixture has no validation loss
    assert all(a["group"] == "" for a in doc["archs"])
    assert [a["arch"] for a in doc["archs"]] == ["llama", "tnl"]
    for a in doc["archs"]:
        for key in REQUIRED:
            assert key in a, key
        for key in REQUIRED[2:]:
            assert key + "_lo" in a and key + "_hi" in a, key
        # The fixture comes from the paper's laws with C in PF-days.
        truth = {"llama": -0.0798, "tnl": -0.0768}[a["arch"]]
        assert abs(a["L_exp"] - truth) < 0.01, (a["arch"], a["L_exp"])
        assert a["L_exp_lo"] <= a["L_exp_hi"]
        assert all("PF-days" in law for law in a["laws"] if "(C)" in law)

    out = run(binary, "optimal", "--input", fixture, "--budget", "1e23", "--unit", "flops", "--json",
              "--method", "paper")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    for a in doc["archs"]:
        rec = a["recommendation"]
        assert rec["unit"] == "flops"
        assert rec["extrapolation_decades"] > 0 and rec["warnings"], rec
        assert rec["n_opt_spread"] == 1, rec  # one method
        paper = rec["methods"][0]
        expected = a["nopt_coef"] * 1e23 ** a["nopt_exp"]
        assert math.isclose(paper["n_opt"], expected, rel_tol=1e-9), (paper["n_opt"], expected)
    assert doc["budget"]["best"][0]["method"] == "paper"

    check_optimal(binary, fixture)

    # Input refused as invalid: exit 2 (docs/operations.md, "Exit codes").
    out = run(binary, "fit", "--input", fixture, "--metric", "validation")
    assert out.returncode == 2, out.returncode
    assert "checkpoints have no validation loss" in out.stderr, out.stderr
    out = run(binary, "fit", "--input", fixture, "--group-by", "context")
    assert out.returncode == 2, out.returncode
    assert "--group-by: 'context' lacks arch" in out.stderr, out.stderr

    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as bad:
        bad.write("arch,run,n_params,tokens,flops,loss\nllama,a,1e8,1e9,6e17,oops\n")
    try:
        out = run(binary, "fit", "--input", bad.name)
        assert out.returncode == 2, out.returncode  # invalid input (docs/operations.md)
        assert ":2: column 'loss' (6): not a number" in out.stderr, out.stderr
    finally:
        os.unlink(bad.name)
    print("cli json checks passed")


if __name__ == "__main__":
    main()
