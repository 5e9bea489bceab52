"""Rich tables: run summaries, convergence checkpoints, rate verdicts, claims, the conformance suite."""
from __future__ import annotations

import math

import numpy as np
from rich.markup import escape
from rich.table import Table

from .rates import FASTER, MATCHES, WITHIN, BoundVerdict, ClaimVerdict
from .scenario import Scenario
from .trace import Trace


def fmt(x, digits: int = 4) -> str:
    """Format a number compactly; NaN as an em dash."""
    if x is None:
        return "—"
    if isinstance(x, (str, bool)):
        return str(x).lower() if isinstance(x, bool) else x
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.{digits}g}"


def verdict_style(verdict: str) -> str:
    if verdict in (FASTER, MATCHES, WITHIN, "holds"):
        return "green"
    if verdict.startswith("outside theory") or verdict.startswith("not evaluated"):
        return "yellow"
    return "bold red"


def _label(algo_id: str, sweep_value, scenario: Scenario) -> str:
    if sweep_value is None or scenario.sweep is None:
        return algo_id
    return f"{algo_id} ({scenario.sweep.parameter.partition('.')[2]}={fmt(sweep_value)})"


def summary_table(scenario: Scenario, traces: list[Trace]) -> Table:
    """Per algorithm (and swept value): how the runs stopped and the median [min, max] of each event."""
    table = Table(title=f"{scenario.name}: runs", title_justify="left")
    table.add_column("algorithm")
    table.add_column("seeds", justify="right")
    table.add_column("stopped")
    events = sorted({e for t in traces for e in t.events})
    for e in events:
        table.add_column(e.replace("_", " "), justify="right")
    table.add_column("wall s", justify="right")
    groups: dict = {}
    for t in traces:
        groups.setdefault((t.algorithm_id, t.sweep_value), []).append(t)
    for (algo_id, value), runs in groups.items():
        stops: dict[str, int] = {}
        for t in runs:
            name = t.status_name
            if t.diverged:
                name = f"diverged@{t.stop_iteration}"
            stops[name] = stops.get(name, 0) + 1
        cells = []
        for e in events:
            vals = np.array([t.events.get(e, math.nan) for t in runs], dtype=float)
            never = np.sum(vals < 0)
            ok = vals[np.isfinite(vals) & (vals >= 0)]
            if ok.size == 0:
                cells.append("never" if never else "—")
                continue
            cell = fmt(np.median(ok))
            if ok.size > 1 and ok.min() != ok.max():
                cell += f" [{fmt(ok.min())}, {fmt(ok.max())}]"
            if never:
                cell += f" ({never} never)"
            cells.append(cell)
        stopped = ", ".join(f"{v} {k}" for k, v in stops.items())
        table.add_row(_label(algo_id, value, scenario), str(len(runs)), stopped, *cells,
                      fmt(sum(t.wall_time for t in runs), 3))
    return table


def convergence_table(scenario: Scenario, traces: list[Trace], metric: str, axis: str,
                      checkpoints: int = 6) -> Table | None:
    """Median of ``metric`` over seeds at a few axis checkpoints (geometric), one column per algorithm."""
    runs = [t for t in traces if metric in t.columns and axis in t.columns]
    if not runs:
        return None
    groups: dict = {}
    for t in runs:
        groups.setdefault((t.algorithm_id, t.sweep_value), []).append(t)
    top = max(float(np.nanmax(t.column(axis))) for t in runs)
    positive = [x for t in runs for x in t.column(axis) if x > 0]
    if not math.isfinite(top) or top <= 0 or not positive:
        return None
    # geometric checkpoints from the first recorded positive axis value (not from 1: an axis counted in
    # oracle calls may start at n) up to the end
    points = np.unique(np.concatenate([[0.0], np.geomspace(min(positive), top, checkpoints - 1)]).round())
    table = Table(title=f"{metric} (median over seeds) by {axis}", title_justify="left")
    table.add_column(axis, justify="right")
    for key in groups:
        table.add_column(_label(key[0], key[1], scenario), justify="right")
    for p in points:
        cells = []
        for group in groups.values():
            vals = []
            for t in group:
                x = t.column(axis)
                idx = np.flatnonzero(x <= p)
                vals.append(t.column(metric)[idx[-1]] if idx.size else math.nan)
            vals = np.array(vals, dtype=float)
            cells.append(fmt(np.nanmedian(vals)) if np.isfinite(vals).any() else "—")
        table.add_row(fmt(p), *cells)
    return table


def condense(bounds: list[BoundVerdict]) -> list[BoundVerdict]:
    """Merge the per-value count verdicts of a sweep into one row per (algorithm, metric).

    The merged row's measured value is the largest ratio count / bound over the swept values; its
    verdict is the worst of the merged rows (a violation or an "outside theory" wins over "within").
    """
    out: list[BoundVerdict] = []
    groups: dict = {}
    for b in bounds:
        if b.form == "count" and b.sweep_value is not None:
            groups.setdefault((b.algorithm_id, b.metric), []).append(b)
        else:
            out.append(b)
    for (algo_id, metric), rows in groups.items():
        ratios = [r.measured / r.theory for r in rows if r.theory and math.isfinite(r.theory)
                  and not r.verdict.startswith("outside")]
        worst = next((r for r in rows if r.violation), None) or next(
            (r for r in rows if r.verdict != WITHIN), rows[0])
        applicable = sum(1 for r in rows if not r.verdict.startswith("outside"))
        note = f"{applicable}/{len(rows)} values inside the theorem's conditions"
        out.append(BoundVerdict(algorithm_id=algo_id, metric=metric, axis=rows[0].axis, form="count ratio",
                                measured=max(ratios) if ratios else math.nan,
                                low=min(ratios) if ratios else math.nan, high=max(ratios) if ratios else math.nan,
                                theory=1.0, verdict=worst.verdict, violation=any(r.violation for r in rows),
                                seeds=len(rows), note=note))
    return out


def rate_table(scenario: Scenario, bounds: list[BoundVerdict], title: str | None = None) -> Table:
    table = Table(title=title or f"{scenario.name}: measured vs theorem", title_justify="left")
    table.add_column("algorithm")
    table.add_column("metric")
    table.add_column("form")
    table.add_column("measured", justify="right")
    table.add_column("spread", justify="right")
    table.add_column("theorem", justify="right")
    table.add_column("verdict")
    for b in condense(bounds):
        measured_label = {"count": "max count", "slope": "slope"}.get(b.form, "exponent")
        spread = f"[{fmt(b.low)}, {fmt(b.high)}]" if b.seeds > 1 else ""
        verdict = b.verdict if not b.note or b.note in b.verdict else f"{b.verdict} ({b.note})"
        table.add_row(_label(b.algorithm_id, b.sweep_value, scenario), b.metric,
                      f"{b.form} vs {b.axis}" if not b.form.startswith("count") else b.form,
                      f"{fmt(b.measured)}" + (f" ({measured_label})" if b.form == "count" else ""),
                      spread, fmt(b.theory), f"[{verdict_style(b.verdict)}]{escape(verdict)}[/]")
    return table


def claims_table(scenario: Scenario, claims: list[ClaimVerdict]) -> Table:
    table = Table(title=f"{scenario.name}: claims", title_justify="left")
    table.add_column("claim")
    table.add_column("check")
    table.add_column("verdict")
    table.add_column("measured")
    for c in claims:
        word = "holds" if c.holds else ("fails" if c.holds is False else "not evaluated")
        if c.holds is None:
            word, measured = f"{word} ({c.detail})", ""
        else:
            measured = c.detail.partition(" (")[2].rstrip(")") if " (" in c.detail else ""
        table.add_row(escape(c.text), escape(c.check), f"[{verdict_style(word)}]{escape(word)}[/]",
                      escape(measured))
    return table


def check_table(rows: list[tuple[str, str, str, str, str, str]]) -> Table:
    """The conformance suite's one summary table: scenario, subject, measured, theorem, verdict."""
    table = Table(title="optsandbox check: measured vs theorem, every scenario", title_justify="left")
    for name, justify in (("scenario", "left"), ("algorithm / claim", "left"), ("metric", "left"),
                          ("measured", "right"), ("theorem", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify)
    for scenario_name, subject, metric, measured, theorem, verdict in rows:
        table.add_row(escape(scenario_name), escape(subject), escape(metric), measured, theorem,
                      f"[{verdict_style(verdict)}]{escape(verdict)}[/]")
    return table
