"""matplotlib figures: measured curves (median, band over seeds) beside the theorem's bound.

One figure per scenario, one panel per bound:

* curve bounds (power, exp, log): the metric against its axis, log-log for power laws and semilog for
  exponentials; the median over seeds as a line, the min-max band over seeds shaded, and the theorem's
  rate as a dashed line anchored at the first recorded point with a positive axis value;
* count bounds: the per-run event against the theorem's count for each algorithm (the bound as a dashed
  tick, every seed as a dot);
* sweep bounds: the median event against the swept parameter on log-log axes, with a dashed reference
  slope anchored at the first value.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .rates import BoundVerdict
from .scenario import Bound, Scenario
from .trace import Trace


def _axis_label(axis: str, units: dict) -> str:
    return units.get(axis, axis.replace("_", " "))


def _median_band(runs: list[Trace], axis: str, metric: str):
    """Return (x, median, low, high) on the union grid of recorded axis values (step interpolation)."""
    grids = [t.column(axis) for t in runs if axis in t.columns and metric in t.columns]
    if not grids:
        return None
    x = np.unique(np.concatenate(grids))
    x = x[np.isfinite(x)]
    values = np.full((len(runs), x.size), np.nan)
    for k, t in enumerate(runs):
        if axis not in t.columns or metric not in t.columns:
            continue
        tx, ty = t.column(axis), t.column(metric)
        idx = np.searchsorted(tx, x, side="right") - 1
        inside = (idx >= 0) & (x <= np.nanmax(tx))
        values[k, inside] = ty[idx[inside]]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(values, axis=0)
            lo = np.nanmin(values, axis=0)
            hi = np.nanmax(values, axis=0)
    return x, med, lo, hi


def _curve_panel(ax, scenario: Scenario, bound: Bound, traces: list[Trace], verdicts: list[BoundVerdict],
                 units: dict) -> None:
    colors = {}
    for algo_id in bound.algorithms:
        runs = [t for t in traces if t.algorithm_id == algo_id]
        for value in sorted({t.sweep_value for t in runs}, key=lambda v: (v is None, v)):
            group = [t for t in runs if t.sweep_value == value]
            band = _median_band(group, bound.axis, bound.metric)
            if band is None:
                continue
            x, med, lo, hi = band
            ok = np.isfinite(med) & (med > 0)
            if bound.form in ("power", "log"):
                ok &= x > 0
            if not ok.any():
                continue
            label = algo_id if value is None else f"{algo_id} ({value})"
            (line,) = ax.plot(x[ok], med[ok], label=label, lw=1.6)
            colors[(algo_id, value)] = line.get_color()
            ax.fill_between(x[ok], np.maximum(lo[ok], 1e-300), hi[ok], color=line.get_color(), alpha=0.2,
                            lw=0)
            v = next((b for b in verdicts if b.algorithm_id == algo_id and b.metric == bound.metric
                      and b.sweep_value == value), None)
            if v is None or not math.isfinite(v.theory):
                continue
            x0, y0 = x[ok][0], med[ok][0]
            xs = x[ok]
            if bound.form == "power":
                ref = y0 * (xs / x0) ** v.theory
            elif bound.form == "exp":
                ref = y0 * np.exp(-v.theory * (xs - x0))
            else:
                ref = y0 * np.log(np.maximum(xs, 2.0)) / math.log(max(x0, 2.0))
            ax.plot(xs, ref, ls="--", color=line.get_color(), lw=1.2,
                    label=f"theorem ({_rate_text(bound.form, v.theory)})")
    if bound.form in ("power", "log"):
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_axis_label(bound.axis, units))
    ax.set_ylabel(bound.metric.replace("_", " "))


def _rate_text(form: str, value: float) -> str:
    if form == "power":
        return f"t^{value:.3g}"
    if form == "exp":
        return f"exp(-{value:.3g} t)"
    return "log t"


def _count_panel(ax, bound: Bound, traces: list[Trace], units: dict) -> None:
    labels = []
    for k, algo_id in enumerate(bound.algorithms):
        runs = [t for t in traces if t.algorithm_id == algo_id]
        counts = [t.events.get(bound.metric, math.nan) for t in runs]
        limits = [t.theory[bound.metric].value if bound.metric in t.theory else math.nan for t in runs]
        ax.scatter(np.full(len(counts), k) + np.linspace(-0.15, 0.15, len(counts)), counts, s=14, zorder=3)
        finite = [v for v in limits if math.isfinite(v)]
        if finite:
            ax.hlines(min(finite), k - 0.35, k + 0.35, colors="k", linestyles="--", lw=1.2)
        labels.append(algo_id)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel(f"{bound.metric.replace('_', ' ')} (dots: runs; dashes: theorem's bound)")


def _sweep_panel(ax, scenario: Scenario, bound: Bound, traces: list[Trace], verdicts: list[BoundVerdict],
                 units: dict) -> None:
    for algo_id in bound.algorithms:
        runs = [t for t in traces if t.algorithm_id == algo_id]
        by_value: dict = {}
        for t in runs:
            y = t.events.get(bound.metric, t.final(bound.metric) if bound.metric in t.columns else math.nan)
            by_value.setdefault(float(t.sweep_value), []).append(y)
        x = np.array(sorted(by_value))
        ys = [np.array(by_value[v], dtype=float) for v in x]
        med = np.array([np.nanmedian(y) for y in ys])
        lo = np.array([np.nanmin(y) for y in ys])
        hi = np.array([np.nanmax(y) for y in ys])
        (line,) = ax.plot(x, med, "o-", label=algo_id, lw=1.6)
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        v = next((b for b in verdicts if b.algorithm_id == algo_id and b.metric == bound.metric), None)
        if v is not None and math.isfinite(v.theory) and med.size and med[0] > 0:
            ax.plot(x, med[0] * (x / x[0]) ** v.theory, ls="--", color=line.get_color(),
                    label=f"theorem (slope {v.theory:.3g})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_axis_label(bound.axis, units))
    ax.set_ylabel(bound.metric.replace("_", " "))


def plot_scenario(scenario: Scenario, traces: list[Trace], verdicts: list[BoundVerdict], path: Path,
                  units: dict | None = None) -> Path | None:
    """Draw every bound of the scenario into one PNG; return its path (None if nothing to draw)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = units or {}
    panels = list(scenario.bounds)
    if not panels:
        metric = next((m for m in ("loss", "gap", "residual") if any(m in t.columns for t in traces)), None)
        if metric is None:
            return None
        panels = [Bound(metric, "iteration", "power", math.nan, 0.0,
                        tuple(a.id for a in scenario.algorithms), 0.5)]
    swept = scenario.sweep.parameter.partition(".")[2] if scenario.sweep else None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.6), squeeze=False)
    for ax, bound in zip(axes[0], panels):
        if bound.form == "count":
            _count_panel(ax, bound, traces, units)
        elif swept is not None and bound.axis == swept:
            _sweep_panel(ax, scenario, bound, traces, verdicts, units)
        else:
            _curve_panel(ax, scenario, bound, traces, verdicts, units)
        ax.set_title(bound.text or f"{bound.metric} ({bound.form})", fontsize=9)
        ax.grid(True, which="both", alpha=0.25)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize=7)
    fig.suptitle(scenario.title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
