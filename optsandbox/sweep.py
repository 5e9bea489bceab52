"""Parameter sweeps: the Cartesian product of grids over a scenario, every cell over its seeds.

One code path for every backend. A *cell* is one point of the grid: the scenario with the cell's
overrides applied, run for all its algorithms and seeds (and its own scenario-level sweep, if any). Cells
are the unit of parallel work:

* ``local`` -- joblib worker processes (``--jobs``), or the current process when ``--jobs 1``;
* ``dask``  -- the same joblib call under ``joblib.parallel_config(backend="dask")``, on an existing
  cluster (``--scheduler tcp://host:8786``) or an in-process ``LocalCluster`` with ``--jobs`` workers.

Seeds come from the scenario's SeedSequence keyed by the seed index (see runner.py), never by the worker,
so every backend gives identical numbers seed for seed. Workers run with ``NUMBA_NUM_THREADS=1`` (the
parallelism is across cells) and find a warm numba cache: the first cell's kernels are compiled here, or
on each Dask worker, before the fan-out.

Results live in ``<out>/<scenario>-<key>/`` where the key is a hash of everything that determines the
numbers (the scenario file's content, the overrides, the grids, the seeds): ``cells/<cell>.json`` is
written atomically as each cell finishes, so re-running an interrupted sweep with the same arguments
skips the finished cells. At the end ``sweep.csv`` (and ``sweep.parquet`` when pyarrow is installed) holds
one tidy row per (cell, algorithm, seed, scenario-level swept value), and ``provenance.json`` the versions.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__, rates, runner
from . import scenario as scenario_mod
from .scenario import ScenarioError
from .trace import atomic_write


@dataclass(frozen=True)
class Grid:
    key: str  # an override key, e.g. "problem.n" or "algorithm.gamma"
    values: tuple


def parse_grid(spec: str) -> Grid:
    """Parse ``key=v1,v2,...`` (values as TOML literals); ScenarioError with one line if malformed."""
    if "=" not in spec:
        raise ScenarioError(f"--grid {spec!r}: expected key=v1,v2,... e.g. problem.n=100,1000")
    key, _, text = spec.partition("=")
    key = key.strip()
    if not key or "." not in key:
        raise ScenarioError(f"--grid {spec!r}: the key must be problem.K, run.K, algorithm.K or algorithm.ID.K")
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise ScenarioError(f"--grid {spec!r}: empty value in the list")
    values = tuple(scenario_mod.parse_value(t) for t in items)
    if len(set(map(repr, values))) != len(values):
        raise ScenarioError(f"--grid {spec!r}: repeated value")
    return Grid(key, values)


def cells_of(grids: list[Grid]) -> list[tuple[tuple[str, object], ...]]:
    keys = [g.key for g in grids]
    if len(set(keys)) != len(keys):
        raise ScenarioError(f"--grid: key given twice: {', '.join(k for k in keys if keys.count(k) > 1)}")
    return [tuple(zip(keys, combo)) for combo in itertools.product(*(g.values for g in grids))]


def cell_name(cell) -> str:
    text = "__".join(f"{k}={v}" for k, v in cell)
    safe = "".join(c if c.isalnum() or c in "-._=" else "_" for c in text)
    return safe[:120] + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]


@dataclass
class SweepPlan:
    scenario: str  # name or path, as given
    path: Path
    overrides: tuple[str, ...]
    grids: list[Grid]
    seeds: int | None
    iterations: int | None
    quick: bool
    cells: list

    def key(self) -> str:
        """Hash of everything that determines the numbers (not the backend or the number of jobs)."""
        h = hashlib.sha1()
        h.update(self.path.read_bytes())
        h.update(json.dumps([list(self.overrides), [(g.key, [repr(v) for v in g.values]) for g in self.grids],
                             self.seeds, self.iterations, self.quick, __version__]).encode())
        return h.hexdigest()[:12]

    def load_cell(self, cell) -> scenario_mod.Scenario:
        overrides = list(self.overrides) + [f"{k}={_literal(v)}" for k, v in cell]
        return scenario_mod.load(self.scenario, overrides=overrides, quick=self.quick,
                                 iterations=self.iterations, seeds=self.seeds)


def _literal(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def plan(scenario: str, grid_specs: list[str], overrides=(), seeds=None, iterations=None,
         quick=False) -> SweepPlan:
    """Parse and validate a sweep: every cell's scenario is loaded (and so checked) before anything runs."""
    if not grid_specs:
        raise ScenarioError("sweep: give at least one --grid key=v1,v2,...")
    grids = [parse_grid(s) for s in grid_specs]
    cells = cells_of(grids)
    p = SweepPlan(scenario, scenario_mod.resolve(scenario), tuple(overrides), grids, seeds, iterations, quick,
                  cells)
    for cell in cells:
        p.load_cell(cell)
    return p


# ---------------------------------------------------------------------------------------------------
# Running one cell (this function is what workers execute)


def run_cell(p: SweepPlan, cell) -> dict:
    """Run every job of one cell; return its tidy rows and verdicts (plain JSON-able data)."""
    sc = p.load_cell(cell)
    traces = runner.run_jobs(sc, runner.jobs_for(sc))
    verdicts = rates.verdicts(sc, traces)
    curve_bounds = [b for b in sc.bounds if b.form in rates.FITS
                    and not (sc.sweep and b.axis == sc.sweep.parameter.partition(".")[2])]
    rows = []
    for t in traces:
        row = {k: v for k, v in cell}
        row.update({"algorithm_id": t.algorithm_id, "algorithm": t.algorithm, "seed": t.seed_index,
                    "sweep_value": t.sweep_value, "status": t.status_name, "stop_iteration": t.stop_iteration,
                    "iterations": sc.iterations, "record_every": sc.record_every, "wall_time": t.wall_time})
        for name, value in t.events.items():
            row[f"event:{name}"] = value
        for name in t.columns:
            row[f"final:{name}"] = t.final(name)
        for b in curve_bounds:
            if t.algorithm_id in b.algorithms and b.metric in t.columns and b.axis in t.columns:
                x, y = t.column(b.axis), t.column(b.metric)
                row[f"rate:{b.metric}"] = rates.FITS[b.form](x, y, b.tail)
                th = t.theory.get(b.metric)
                if th is not None:
                    row[f"theory:{b.metric}"] = th.value if th.applicable else math.nan
        rows.append(row)
    return {"cell": [[k, v] for k, v in cell], "rows": rows, "verdicts": verdicts.to_json()}


def _run_cell_in_worker(p: SweepPlan, cell) -> tuple:
    return cell, run_cell(p, cell)


def warm(p: SweepPlan) -> None:
    """Compile (or load from the cache) every kernel the sweep needs, with a two-iteration run."""
    small = scenario_mod.load(p.scenario, overrides=list(p.overrides) + ["run.iterations=2"], quick=p.quick,
                              seeds=1)
    runner.compile_kernels(small)


def _single_thread_numba() -> None:
    os.environ["NUMBA_NUM_THREADS"] = "1"


# ---------------------------------------------------------------------------------------------------
# The sweep


def out_dir(p: SweepPlan, root: Path) -> Path:
    return Path(root) / f"{p.path.stem}-{p.key()}"


def finished_cells(directory: Path) -> dict[str, dict]:
    out = {}
    for f in (directory / "cells").glob("*.json"):
        try:
            out[f.stem] = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # a file that cannot be read is recomputed
    return out


def execute(p: SweepPlan, root: Path, backend: str = "local", jobs: int = 1, scheduler: str | None = None,
            on_cell=None) -> tuple[Path, list[dict], int]:
    """Run the cells not yet finished under ``root``; return (directory, all cell results, cells run now)."""
    directory = out_dir(p, root)
    (directory / "cells").mkdir(parents=True, exist_ok=True)
    atomic_write(directory / "provenance.json", json.dumps(provenance(p), indent=2))
    done = finished_cells(directory)
    todo = [c for c in p.cells if cell_name(c) not in done]
    for name in done:
        if on_cell is not None:
            on_cell(None)
    ran = 0

    def keep(cell, result):
        nonlocal ran
        atomic_write(directory / "cells" / f"{cell_name(cell)}.json", json.dumps(result, default=_jsonable))
        done[cell_name(cell)] = json.loads(json.dumps(result, default=_jsonable))
        ran += 1
        if on_cell is not None:
            on_cell(cell)

    if todo:
        if backend == "dask":
            _run_dask(p, todo, jobs, scheduler, keep)
        elif jobs == 1:
            for cell in todo:
                keep(cell, run_cell(p, cell))
        else:
            warm(p)
            from joblib import Parallel, delayed

            os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # inherited by the loky workers
            parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
            for cell, result in parallel(delayed(_run_cell_in_worker)(p, c) for c in todo):
                keep(cell, result)
    results = [done[cell_name(c)] for c in p.cells]
    write_table(directory, results)
    return directory, results, ran


def _run_dask(p: SweepPlan, todo, jobs, scheduler, keep) -> None:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError("--backend dask needs the optional extra: pip install 'optsandbox[dask]'") from None
    from joblib import Parallel, delayed, parallel_config

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                               env={"NUMBA_NUM_THREADS": "1"})
        client = Client(cluster)
    try:
        client.run(_single_thread_numba)
        client.run(warm, p)  # every worker compiles or loads the kernels before the fan-out
        with parallel_config(backend="dask"):
            parallel = Parallel(n_jobs=-1, return_as="generator_unordered")
            for cell, result in parallel(delayed(_run_cell_in_worker)(p, c) for c in todo):
                keep(cell, result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _jsonable(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    return str(x)


def _git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(p: SweepPlan) -> dict:
    import numba

    return {"optsandbox": __version__, "git_commit": _git_commit(), "numpy": np.__version__,
            "numba": numba.__version__, "python": platform.python_version(), "scenario": str(p.path),
            "overrides": list(p.overrides), "grids": {g.key: list(g.values) for g in p.grids},
            "seeds": p.seeds, "iterations": p.iterations, "quick": p.quick, "cells": len(p.cells)}


def tidy_rows(results: list[dict]) -> list[dict]:
    rows = []
    for r in results:
        for row in r["rows"]:
            rows.append({k: (float(v) if v in ("nan", "inf", "-inf") else v) for k, v in row.items()})
    return rows


def write_table(directory: Path, results: list[dict]) -> None:
    import csv
    import io

    rows = tidy_rows(results)
    columns: list[str] = []
    for row in rows:
        for k in row:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in columns})
    atomic_write(directory / "sweep.csv", buf.getvalue())
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    table = pa.Table.from_pylist([{k: _parquet_cell(row.get(k)) for k in columns} for row in rows])
    tmp = directory / ".sweep.parquet.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, directory / "sweep.parquet")


def _parquet_cell(v):
    # one type per column: numbers as float, everything else as text
    if v is None:
        return None
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return float(v)
    return str(v)


# ---------------------------------------------------------------------------------------------------
# Summaries across a grid axis


def default_metric(results: list[dict]) -> str:
    """Prefer a fitted rate, then an event, then a final metric."""
    keys = [k for r in results for row in r["rows"] for k in row]
    for prefix in ("rate:", "event:", "final:"):
        hit = next((k for k in keys if k.startswith(prefix)), None)
        if hit:
            return hit
    raise ScenarioError("sweep: the runs recorded nothing to summarize")


def summarize(p: SweepPlan, results: list[dict], metric: str) -> list[dict]:
    """Per (cell, algorithm): median, min and max over seeds of ``metric`` (a tidy column name)."""
    out = []
    for r in results:
        cell = tuple((k, v) for k, v in r["cell"])
        by_algo: dict = {}
        for row in r["rows"]:
            v = row.get(metric)
            v = float(v) if v is not None and v != "" else math.nan
            if metric.startswith("event:") and v < 0:
                v = math.inf  # -1 means the event never happened: worse than any value
            by_algo.setdefault((row["algorithm_id"], row.get("sweep_value")), []).append(v)
        for (algo, inner), values in by_algo.items():
            arr = np.array(values, dtype=float)
            ok = arr[np.isfinite(arr)]
            out.append({"cell": cell, "algorithm_id": algo, "sweep_value": inner,
                        "median": float(np.median(ok)) if ok.size else math.nan,
                        "low": float(ok.min()) if ok.size else math.nan,
                        "high": float(ok.max()) if ok.size else math.nan, "n": int(arr.size),
                        "missing": int(arr.size - ok.size),
                        "violations": sum(1 for b in r["verdicts"]["bounds"]
                                          if b["algorithm_id"] == algo and b["violation"])})
    return out


def slopes(p: SweepPlan, summary: list[dict]) -> dict:
    """Log-log slope of the median against the first numeric grid axis, per algorithm and other axes."""
    if not p.grids:
        return {}
    axis = p.grids[0]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in axis.values):
        return {}
    groups: dict = {}
    for s in summary:
        rest = tuple((k, v) for k, v in s["cell"] if k != axis.key)
        if s.get("sweep_value") is not None:
            rest += (("scenario sweep", s["sweep_value"]),)
        x = dict(s["cell"])[axis.key]
        groups.setdefault((s["algorithm_id"], rest), []).append((float(x), s["median"]))
    out = {}
    for key, pairs in groups.items():
        pairs.sort()
        x, y = np.array(pairs).T
        slope = rates.fit_power(x, y, tail=1.0)
        out[key] = 0.0 if abs(slope) < 1e-12 else slope  # a flat line's slope is 0, not rounding noise
    return out


def plot(p: SweepPlan, summary: list[dict], metric: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = p.grids[0]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis.values)
    fig, ax = plt.subplots(figsize=(7, 4.6))
    groups: dict = {}
    for s in summary:
        rest = tuple((k, v) for k, v in s["cell"] if k != axis.key)
        if s.get("sweep_value") is not None:
            rest += (("sweep", s["sweep_value"]),)
        groups.setdefault((s["algorithm_id"], rest), []).append(s)
    for (algo, rest), items in groups.items():
        pos = {v: i for i, v in enumerate(axis.values)}
        items.sort(key=lambda s: pos[dict(s["cell"])[axis.key]])
        xs = [dict(s["cell"])[axis.key] for s in items]
        x = np.array(xs, dtype=float) if numeric else np.arange(len(xs))
        med = np.array([s["median"] for s in items])
        lo = np.array([s["low"] for s in items])
        hi = np.array([s["high"] for s in items])
        label = algo + ("" if not rest else " " + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in rest))
        (line,) = ax.plot(x, med, "o-", label=label)
        ax.fill_between(x, lo, hi, alpha=0.2, color=line.get_color(), lw=0)
        if not numeric:
            ax.set_xticks(range(len(xs)))
            ax.set_xticklabels([str(v) for v in xs])
    if numeric and all(v > 0 for v in axis.values):
        ax.set_xscale("log")
    values = [s["median"] for s in summary if math.isfinite(s["median"])]
    if values and all(v > 0 for v in values):
        ax.set_yscale("log")
    ax.set_xlabel(axis.key)
    ax.set_ylabel(f"{metric} (median; band: min-max over seeds)")
    ax.set_title(f"{p.path.stem}: {metric} across {axis.key}", fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
