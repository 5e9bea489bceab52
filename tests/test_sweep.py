"""Sweeps: identical numbers on every backend, resumption, tidy output, and clear errors."""
import json

import pytest
from typer.testing import CliRunner

from optsandbox import sweep
from optsandbox.cli import app

runner = CliRunner()

# The random-order perceptron draws from the algorithm's seed stream and the problem from the problem's:
# a sweep over it exercises both streams in every cell.
SCENARIO = "classification-separation-bounds"
GRIDS = ["problem.n=40,60", "problem.d=4,6"]
SETS = ["run.iterations=3000", "run.record_every=100"]


def numbers(results):
    """Every tidy row without its wall time, in a canonical order."""
    rows = [{k: v for k, v in row.items() if k != "wall_time"} for row in sweep.tidy_rows(results)]
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def test_identical_results_sequential_processes_and_dask(tmp_path):
    p = sweep.plan(SCENARIO, GRIDS, overrides=SETS, seeds=2)
    _, sequential, ran = sweep.execute(p, tmp_path / "seq", jobs=1)
    assert ran == 4 and len(sweep.tidy_rows(sequential)) == 4 * 5 * 2
    _, processes, _ = sweep.execute(p, tmp_path / "proc", jobs=2)
    assert numbers(processes) == numbers(sequential)
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    _, dask, _ = sweep.execute(p, tmp_path / "dask", backend="dask", jobs=2)
    assert numbers(dask) == numbers(sequential)


def test_interrupted_sweep_resumes_without_recomputing(tmp_path, monkeypatch):
    p = sweep.plan(SCENARIO, GRIDS, overrides=SETS, seeds=1)
    real = sweep.run_cell
    calls = []

    def interrupt_on_third(plan, cell):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(cell)
        return real(plan, cell)

    monkeypatch.setattr(sweep, "run_cell", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt):
        sweep.execute(p, tmp_path)
    assert len(list((sweep.out_dir(p, tmp_path) / "cells").glob("*.json"))) == 2

    monkeypatch.setattr(sweep, "run_cell", lambda plan, cell: calls.append(cell) or real(plan, cell))
    directory, results, ran = sweep.execute(p, tmp_path)
    assert ran == 2 and len(calls) == 4 and len({sweep.cell_name(c) for c in calls}) == 4  # none run twice
    assert len(results) == 4 and (directory / "sweep.csv").is_file()
    # a third run computes nothing
    assert sweep.execute(p, tmp_path)[2] == 0


def test_cli_sweep_prints_summary_and_slope(tmp_path):
    result = runner.invoke(app, ["sweep", "classification-lower-bound-sweep", "--quick", "--grid",
                                 "problem.lone_first=true,false", "--metric", "event:iterations_to_separation",
                                 "--out", str(tmp_path), "--no-plot"])
    assert result.exit_code == 0, result.output
    assert "iterations_to_separation" in result.output and "2 cells (2 run now" in result.output
    csv = next(tmp_path.glob("*/sweep.csv")).read_text().splitlines()
    assert csv[0].startswith("problem.lone_first,algorithm_id,algorithm,seed,sweep_value,status")
    provenance = json.loads(next(tmp_path.glob("*/provenance.json")).read_text())
    assert {"optsandbox", "numpy", "numba", "git_commit", "grids"} <= set(provenance)


def test_parquet_written_when_pyarrow_is_present(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is optional")
    p = sweep.plan("classification-loss-unreliable", ["algorithm.gamma=10,100"])
    directory, _, _ = sweep.execute(p, tmp_path)
    assert pq.read_table(directory / "sweep.parquet").num_rows == 2 * 2


@pytest.mark.parametrize("args,needle", [
    (["--grid", "problem.n"], "expected key=v1,v2"),
    (["--grid", "problem.n="], "empty value"),
    (["--grid", "problem.n=10,,20"], "empty value"),
    (["--grid", "n=1,2"], "the key must be"),
    (["--grid", "problem.nope=1,2"], "unknown key problem.nope"),
    (["--grid", "problem.n=11,33", "--grid", "problem.n=5,7"], "key given twice"),
    (["--grid", "problem.n=11,11"], "repeated value"),
    (["--grid", "problem.n=eleven,12"], "expected integer"),
    ([], "at least one --grid"),
    (["--grid", "problem.n=11,33", "--backend", "spark"], "choose local or dask"),
])
def test_bad_grids_exit_2_with_one_line(tmp_path, args, needle):
    result = runner.invoke(app, ["sweep", "classification-lower-bound-sweep", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0], result.output
