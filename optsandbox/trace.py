"""Trace: one run's recorded rows, events and verdict inputs; saving and loading results.

A results directory holds one scenario run::

    results/<scenario>-<UTC stamp>/
        manifest.json        the scenario as run (after overrides), versions, the command line
        runs/<key>.json      one Trace per (algorithm, seed, swept value), written as each run finishes
        traces.csv           every recorded row of every run, one tidy table
        summary.json         rates, verdicts and claims (written last)

Every file is written atomically (temporary file + rename), so an interrupted run leaves only complete
files, and the runs finished before a Ctrl-C are kept.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .api import STATUS_NAMES, Theory


@dataclass
class Trace:
    scenario: str
    family: str
    algorithm_id: str
    algorithm: str
    params: dict
    problem: str
    problem_params: dict
    seed_index: int
    sweep_value: object = None
    columns: dict = field(default_factory=dict)  # name -> np.ndarray (float64)
    events: dict = field(default_factory=dict)
    status: int = 0
    stop_iteration: int = -1
    theory: dict = field(default_factory=dict)  # metric -> Theory
    reference: dict = field(default_factory=dict)  # scalar facts of the problem instance
    wall_time: float = 0.0

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, "unknown")

    @property
    def diverged(self) -> bool:
        return self.status_name == "diverged"

    @property
    def key(self) -> str:
        parts = [self.algorithm_id, f"seed{self.seed_index}"]
        if self.sweep_value is not None:
            parts.append(f"v{_safe(self.sweep_value)}")
        return "__".join(parts)

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise KeyError(f"run {self.key} recorded no {name!r}; it has: {', '.join(self.columns)}")
        return np.asarray(self.columns[name], dtype=float)

    def final(self, name: str) -> float:
        values = self.column(name)
        return float(values[-1]) if values.size else math.nan

    def to_json(self) -> dict:
        d = asdict(self)
        d["columns"] = {k: [_finite_or_str(x) for x in np.asarray(v, dtype=float)]
                        for k, v in self.columns.items()}
        d["theory"] = {k: asdict(v) for k, v in self.theory.items()}
        d["events"] = {k: _finite_or_str(v) for k, v in self.events.items()}
        d["reference"] = {k: _finite_or_str(v) for k, v in self.reference.items()}
        d["status_name"] = self.status_name
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Trace":
        d = dict(d)
        d.pop("status_name", None)
        d["columns"] = {k: np.array([_from_str(x) for x in v], dtype=float)
                        for k, v in d["columns"].items()}
        d["theory"] = {k: Theory(**v) for k, v in d.get("theory", {}).items()}
        d["events"] = {k: _from_str(v) for k, v in d.get("events", {}).items()}
        d["reference"] = {k: _from_str(v) for k, v in d.get("reference", {}).items()}
        return cls(**d)


def _safe(value) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in str(value))


def _finite_or_str(x):
    """JSON has no NaN or inf: store them as the strings "nan", "inf", "-inf"."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    return x


def _from_str(x):
    if x in ("nan", "inf", "-inf"):
        return float(x)
    return x


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def new_results_dir(root: Path, scenario_name: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = Path(root) / f"{scenario_name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = Path(root) / f"{scenario_name}-{stamp}-{n}"
    (path / "runs").mkdir(parents=True)
    return path


def save_trace(results: Path, trace: Trace) -> Path:
    path = Path(results) / "runs" / f"{trace.key}.json"
    atomic_write(path, json.dumps(trace.to_json()))
    return path


def save_json(path: Path, document: dict) -> None:
    atomic_write(Path(path), json.dumps(document, indent=2, default=_finite_or_str))


def traces_csv(traces: list[Trace]) -> str:
    """Return every recorded row of every run as one tidy CSV table."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    names = sorted({name for t in traces for name in t.columns})
    writer.writerow(["scenario", "algorithm_id", "algorithm", "seed", "sweep_value", "status", *names])
    for t in traces:
        cols = [t.columns.get(n) for n in names]
        rows = len(t.columns.get("iteration", []))
        for r in range(rows):
            cells = ["" if c is None or r >= len(c) else repr(float(c[r])) for c in cols]
            writer.writerow([t.scenario, t.algorithm_id, t.algorithm, t.seed_index,
                             "" if t.sweep_value is None else t.sweep_value, t.status_name, *cells])
    return buf.getvalue()


def save_csv(results: Path, traces: list[Trace]) -> Path:
    path = Path(results) / "traces.csv"
    atomic_write(path, traces_csv(traces))
    return path


def load_traces(results: Path) -> list[Trace]:
    """Load every run saved under a results directory, sorted by key."""
    runs = sorted((Path(results) / "runs").glob("*.json"))
    return [Trace.from_json(json.loads(p.read_text(encoding="utf-8"))) for p in runs]


def load_manifest(results: Path) -> dict:
    return json.loads((Path(results) / "manifest.json").read_text(encoding="utf-8"))
