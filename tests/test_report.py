"""Verdicts, tables and figures on synthetic traces whose exponents are known."""
import math

import numpy as np
import pytest
from rich.console import Console

from optsandbox import rates, report
from optsandbox.api import STATUS_NON_FINITE, Theory
from optsandbox.plotting import plot_scenario
from optsandbox.scenario import validate
from optsandbox.trace import Trace

RAW = {
    "name": "synthetic", "family": "classification", "problem": {"name": "two_point"},
    "run": {"iterations": 1000, "seeds": 3},
    "algorithm": [{"id": "fast", "name": "lr_gd"}, {"id": "slow", "name": "lr_gd"},
                  {"id": "broken", "name": "lr_gd"}, {"id": "outside", "name": "lr_gd"}],
    "bound": [{"metric": "gap", "form": "power", "rate": "theory", "tolerance": 0.1},
              {"metric": "dist", "form": "exp", "rate": 0.01, "tolerance": 0.1, "algorithms": ["fast"]}],
    "claim": [{"text": "fast beats slow", "check": "final(fast, gap) < final(slow, gap)"},
              {"text": "rate as fitted", "check": "abs(rate(fast, gap) + 1) < 0.05"},
              {"text": "typo in a metric name fails loudly", "check": "final(fast, gpa) < 1"}],
}


def trace(algo_id, seed, exponent, theory=-1.0, applicable=True, status=0):
    t = np.arange(0, 1001, 10, dtype=float)
    rng = np.random.default_rng(seed)
    noise = np.exp(0.02 * rng.standard_normal(t.size))
    return Trace("synthetic", "classification", algo_id, "lr_gd", {}, "two_point", {}, seed,
                 columns={"iteration": t, "gap": (1 + t) ** exponent * noise, "dist": np.exp(-0.02 * t) * noise},
                 status=status, stop_iteration=500 if status else -1,
                 theory={"gap": Theory("power", theory, applicable, "" if applicable else "step too large")})


@pytest.fixture
def runs():
    out = []
    for seed in range(3):
        out.append(trace("fast", seed, -1.0))
        out.append(trace("slow", seed, -0.5))
        out.append(trace("broken", seed, -1.0, status=STATUS_NON_FINITE if seed == 1 else 0))
        out.append(trace("outside", seed, -0.2, applicable=False))
    return out


def test_verdicts_on_known_exponents(runs):
    sc = validate(RAW, "synthetic.toml")
    v = rates.verdicts(sc, runs)
    by = {(b.algorithm_id, b.metric): b for b in v.bounds}
    assert by["fast", "gap"].verdict == rates.MATCHES and by["fast", "gap"].measured == pytest.approx(-1, abs=0.03)
    assert by["slow", "gap"].verdict == rates.SLOWER and by["slow", "gap"].violation
    assert by["broken", "gap"].verdict.startswith("diverged at iteration 500") and by["broken", "gap"].violation
    assert by["outside", "gap"].verdict == "outside theory: step too large" and not by["outside", "gap"].violation
    assert by["fast", "dist"].verdict == rates.FASTER  # measured 0.02 > 0.01 * 1.1
    holds = [c.holds for c in v.claims]
    assert holds == [True, True, False] and "gpa" in v.claims[2].detail
    assert v.failed


def test_tables_and_figure_render(runs, tmp_path):
    sc = validate(RAW, "synthetic.toml")
    v = rates.verdicts(sc, runs)
    console = Console(record=True, width=200)
    for table in (report.summary_table(sc, runs), report.convergence_table(sc, runs, "gap", "iteration"),
                  report.rate_table(sc, v.bounds), report.claims_table(sc, v.claims)):
        console.print(table)
    text = console.export_text()
    assert "slower than the bound" in text and "diverged@500" in text and "outside theory" in text
    path = plot_scenario(sc, runs, v.bounds, tmp_path / "fig.png", {"iteration": "iteration"})
    assert path.is_file() and path.stat().st_size > 10_000


def test_fmt():
    assert report.fmt(math.nan) == "—" and report.fmt(3.0) == "3" and report.fmt(1e-7) == "1.000e-07"
    assert report.fmt(True) == "true" and report.fmt(math.inf) == "inf"


def test_benchmark_harness_times_both_sides():
    from optsandbox.api import BenchCase
    from optsandbox.bench import measure

    calls = {"numba": 0, "numpy": 0}
    case = BenchCase("count", lambda: calls.__setitem__("numba", calls["numba"] + 1),
                     lambda: calls.__setitem__("numpy", calls["numpy"] + 1))
    (wall, cpu), (wall2, cpu2) = measure(case, repeat=3)
    assert calls == {"numba": 4, "numpy": 4}  # one untimed warm-up call each, then the timed ones
    assert min(wall, cpu, wall2, cpu2) >= 0


def test_random_instances_are_judged_against_their_own_theorem():
    """Seed k decays at rate r_k and its theorem says r_k: every seed matches, whatever the spread of r_k."""
    raw = dict(RAW, bound=[{"metric": "dist", "form": "exp", "rate": "theory", "tolerance": 0.05,
                            "algorithms": ["fast"]}], claim=[])
    sc = validate(raw, "synthetic.toml")
    runs = []
    for seed, r in enumerate((0.01, 0.02, 0.05)):
        t = trace("fast", seed, -1.0)
        t.columns["dist"] = np.exp(-r * t.columns["iteration"])
        t.theory = {"dist": Theory("exp", r)}
        runs.append(t)
    (b,) = rates.check_bounds(sc, runs)
    assert b.verdict == rates.MATCHES and b.theory == pytest.approx(0.02)
    runs[2].columns["dist"] = np.exp(-0.02 * runs[2].columns["iteration"])  # seed 2 now at 40% of its theorem
    runs[1].columns["dist"] = np.exp(-0.01 * runs[1].columns["iteration"])  # seed 1 at 50%
    (b,) = rates.check_bounds(sc, runs)
    assert b.verdict == rates.SLOWER


def test_a_match_that_is_slower_than_the_theorem_says_so():
    raw = dict(RAW, bound=[{"metric": "gap", "form": "power", "rate": -1.0, "tolerance": 0.1,
                            "algorithms": ["slow"]}], claim=[])
    sc = validate(raw, "synthetic.toml")
    runs = [trace("slow", seed, -0.95) for seed in range(3)]
    (b,) = rates.check_bounds(sc, runs)
    assert b.verdict == rates.MATCHES and "slower than the theorem by 5%" in b.note
    runs = [trace("slow", seed, -1.3) for seed in range(3)]
    (b,) = rates.check_bounds(sc, runs)
    assert b.verdict == rates.FASTER and b.note == ""
