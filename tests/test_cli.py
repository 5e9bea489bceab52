"""The command line: start-up without kernels, input errors (exit 2, one line), run/check/plot/info."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from optsandbox.cli import app

runner = CliRunner()

GOOD = """
name = "tmp-bp"
family = "classification"
title = "tmp"
[problem]
name = "lower_bound"
n = 33
[run]
iterations = 100
seeds = 1
[[algorithm]]
name = "batch_perceptron"
[[bound]]
metric = "iterations_to_separation"
form = "count"
"""


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _elapsed(cmd):
    """Best of three CPU times (user + system) of the command: wall time would measure the machine's load."""
    import resource

    best = float("inf")
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return best


@pytest.mark.parametrize("args", [["--help"], ["list"]])
def test_help_and_list_start_fast_without_numba(args):
    cmd = [sys.executable, "-m", "optsandbox", *args]
    assert _elapsed(cmd) < 1.0
    probe = ("import sys; from typer.testing import CliRunner; from optsandbox.cli import app; "
             f"r = CliRunner().invoke(app, {args!r}); assert r.exit_code == 0, r.output; "
             "assert 'numba' not in sys.modules and 'numpy' not in sys.modules, 'kernel imported'")
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_list_shows_every_kind():
    result = invoke("list")
    assert result.exit_code == 0
    for word in ("batch_perceptron", "lower_bound", "classification-limit", "Tyurin"):
        assert word in result.output


def test_info_on_algorithm_problem_and_scenario():
    out = invoke("info", "normalized_lr_gd").output
    assert "beta_t" in out and "gamma" in out and "Thm 6.1" in out
    assert "mu = 1/2" in invoke("info", "lower_bound").output
    assert "sweep" in invoke("info", "classification-lower-bound-sweep").output


def _one_line_error(result):
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.strip().splitlines() if l.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("patch,needle", [
    (('name = "batch_perceptron"', 'name = "no_such_algorithm"'), "unknown algorithm"),
    (("n = 33", "n = 33\nbogus = 1"), "unknown key problem.bogus"),
    (("n = 33", 'n = "many"'), "expected integer"),
    (("iterations = 100", "iterations = -5"), "run.iterations = -5"),
    (("[run]", "[run\n"), "malformed TOML"),
    (('form = "count"', 'form = "cubic"'), "allowed values"),
    (("seeds = 1", "seeds = 1\nspeed = 2"), "unknown key run.speed"),
])
def test_scenario_errors_exit_2_with_one_line(write_scenario, workdir, patch, needle):
    path = write_scenario(GOOD.replace(*patch))
    line = _one_line_error(invoke("run", str(path), "--no-plot"))
    assert needle in line and "scenario.toml" in line


@pytest.mark.parametrize("args,needle", [
    (["run", "no-such-scenario"], "unknown scenario"),
    (["run", "classification-limit", "--set", "problem.nope=1"], "unknown key problem.nope"),
    (["run", "classification-limit", "--set", "algorithm.gamma"], "expected key=value"),
    (["run", "classification-limit", "--algo", "ghost"], "--algo 'ghost'"),
    (["info", "ghost_name"], "no algorithm, problem or scenario"),
    (["list", "gizmos"], "choose one of"),
    (["plot", "/nonexistent/results"], "not a results directory"),
])
def test_cli_input_errors_exit_2(workdir, args, needle):
    assert needle in _one_line_error(invoke(*args))


def test_run_json_saves_results_and_reports_events(workdir, write_scenario):
    path = write_scenario(GOOD)
    result = invoke("run", str(path), "--json", "--set", "problem.n=101")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["runs"][0]["events"]["iterations_to_separation"] == (3 * 101 + 2) // 10 + 1
    assert doc["bounds"][0]["verdict"] == "within bound" and doc["failed"] is False
    results = workdir / doc["results_dir"]
    assert (results / "manifest.json").is_file() and (results / "summary.json").is_file()
    assert (results / "traces.csv").read_text().startswith("scenario,")
    assert (workdir / "plots" / "tmp-bp.png").is_file()
    # plot re-draws from the saved results without running anything
    out = workdir / "again.png"
    assert invoke("plot", str(results), "--out", str(out)).exit_code == 0 and out.is_file()


def test_run_tables_and_overrides(workdir):
    result = invoke("run", "classification-loss-unreliable", "--no-plot", "--set", "algorithm.gamma=1000")
    assert result.exit_code == 0, result.output
    assert "measured vs theorem" in result.output and "claims" in result.output
    assert result.output.count("holds") == 3


def test_check_passes_on_classification_quick(workdir):
    result = invoke("check", "--quick", "--family", "classification")
    assert result.exit_code == 0, result.output
    assert "all consistent with theory" in result.output


def test_check_fails_with_exit_1_on_a_bound_that_is_too_fast(workdir, write_scenario):
    too_fast = GOOD.replace('form = "count"', 'form = "count"\nrate = 2.0')  # T_sep <= 2 is false for n=33
    path = write_scenario(too_fast)
    result = invoke("check", str(path))
    assert result.exit_code == 1, result.output
    assert "violates bound" in result.output
    sweep = write_scenario("""
        name = "tmp-sweep"
        family = "classification"
        [problem]
        name = "lower_bound"
        [run]
        iterations = 2000
        [sweep]
        parameter = "problem.n"
        values = [11, 101, 1001]
        [[algorithm]]
        name = "batch_perceptron"
        [[bound]]
        metric = "iterations_to_separation"
        axis = "n"
        form = "power"
        rate = 0.0
        tolerance = 0.1
        """, "sweep.toml")
    result = invoke("check", str(sweep))
    assert result.exit_code == 1 and "slower than the bound" in result.output


def test_interrupted_run_keeps_finished_results(workdir, write_scenario, monkeypatch):
    from optsandbox import runner as runner_mod

    path = write_scenario(GOOD.replace("seeds = 1", "seeds = 3"))
    real = runner_mod.run_job
    calls = {"n": 0}

    def flaky(scenario, job, *cache):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(scenario, job, *cache)

    monkeypatch.setattr(runner_mod, "run_job", flaky)
    result = runner.invoke(app, ["run", str(path), "--no-plot"])
    assert result.exit_code == 130
    saved = list((workdir / "results").glob("tmp-bp-*/runs/*.json"))
    assert len(saved) == 2


def test_second_process_loads_kernels_from_the_cache(tmp_path):
    """DESIGN rule 2: a second run loads the compiled kernel from numba's disk cache (no recompilation)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    probe = (
        "import numpy as np\n"
        "from optsandbox import scenario, runner\n"
        "from optsandbox.classification import kernels\n"
        "sc = scenario.load('classification-loss-unreliable')\n"
        "runner.run_jobs(sc, runner.jobs_for(sc))\n"
        "s = kernels.batch_kernel.stats\n"
        "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))\n")
    first = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    hits1, misses1 = map(int, first.stdout.split())
    hits2, misses2 = map(int, second.stdout.split())
    assert misses1 == 1 and hits1 == 0
    assert hits2 == 1 and misses2 == 0


def test_warmup_compiles_every_scenario(workdir):
    result = invoke("warmup")
    assert result.exit_code == 0, result.output
    assert "kernels of" in result.output and "compiled and cached" in result.output


def test_worker_processes_give_the_same_numbers_as_one_process():
    from optsandbox import runner as runner_mod, scenario

    sc = scenario.load("classification-separation-bounds", quick=True)
    one = runner_mod.run_jobs(sc, runner_mod.jobs_for(sc), n_jobs=1)
    two = runner_mod.run_jobs(sc, runner_mod.jobs_for(sc), n_jobs=2)
    assert [t.key for t in one] == [t.key for t in two]
    for a, b in zip(one, two):
        assert a.events == b.events
        for name in a.columns:
            np.testing.assert_array_equal(a.columns[name], b.columns[name])


def test_bench_prints_ratios_for_a_family():
    result = invoke("bench", "classification", "--repeat", "1")
    assert result.exit_code == 0, result.output
    assert "lr_gd n=200 d=10" in result.output and "x" in result.output
    assert _one_line_error(invoke("bench", "no_such_family")).startswith("error: unknown family")
