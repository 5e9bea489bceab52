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
import textwrap
from pathlib import Path

import numpy as np

from .rates import BoundVerdict
from .scenario import Bound, Panel, Scenario
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


def _plain_panel(ax, panel: Panel, traces: list[Trace], units: dict) -> None:
    for algo_id in panel.algorithms:
        runs = [t for t in traces if t.algorithm_id == algo_id]
        for value in sorted({t.sweep_value for t in runs}, key=lambda v: (v is None, v)):
            band = _median_band([t for t in runs if t.sweep_value == value], panel.axis, panel.metric)
            if band is None:
                continue
            x, med, lo, hi = band
            ok = np.isfinite(med)
            if panel.xscale == "log":
                ok &= x > 0
            if panel.yscale == "log":
                ok &= med > 0
            if not ok.any():
                continue
            label = algo_id if value is None else f"{algo_id} ({value})"
            (line,) = ax.plot(x[ok], med[ok], label=label, lw=1.4)
            ax.fill_between(x[ok], lo[ok], hi[ok], color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xscale(panel.xscale)
    if panel.yscale == "symlog":  # counts that reach 0: linear below 1, logarithmic above
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0.0)
    else:
        ax.set_yscale(panel.yscale)
    ax.set_xlabel(_axis_label(panel.axis, units))
    ax.set_ylabel(panel.metric.replace("_", " ") + " (median, band: min-max over seeds)")


def _rate_text(form: str, value: float) -> str:
    if form == "power":
        return f"t^{value:.3g}"
    if form == "exp":
        return f"exp(-{value:.3g} t)"
    return "log t"


def _count_panel(ax, bound: Bound, traces: list[Trace], units: dict, swept: str | None) -> None:
    """Per-run events (dots) and each run's theorem bound (dashes; hollow where outside theory).

    Without a sweep, one column per algorithm; with one, the events against the swept value, log-log.
    """
    for k, algo_id in enumerate(bound.algorithms):
        runs = [t for t in traces if t.algorithm_id == algo_id]
        if not runs:
            continue
        counts = np.array([t.events.get(bound.metric, math.nan) for t in runs], dtype=float)
        counts[counts < 0] = np.nan  # "never reached"
        theory = [t.theory.get(bound.metric) for t in runs]
        limits = np.array([th.value if th is not None else math.nan for th in theory], dtype=float)
        applies = np.array([th is not None and th.applicable for th in theory])
        if bound.rate != "theory":
            limits[:] = float(bound.rate)
        x = (np.array([float(t.sweep_value) for t in runs]) if swept is not None
             else np.full(len(runs), float(k)))
        offsets = np.linspace(-0.15, 0.15, len(runs)) if swept is None else np.zeros(len(runs))
        dots = ax.scatter(x + offsets, counts, s=16, zorder=3, label=f"{algo_id} (runs)")
        color = dots.get_facecolor()[0]
        if swept is None:
            finite = limits[applies & np.isfinite(limits)]
            if finite.size:
                ax.hlines(finite.min(), k - 0.35, k + 0.35, colors=[color], linestyles="--", lw=1.4,
                          label=f"{algo_id} (theorem)")
        else:
            xs = np.unique(x[applies & np.isfinite(limits)])
            if xs.size:
                med = [np.median(limits[(x == v) & applies & np.isfinite(limits)]) for v in xs]
                ax.plot(xs, med, ls="--", color=color, lw=1.2, marker="_", ms=12,
                        label=f"{algo_id} (theorem, median over seeds)")
            if (~applies & np.isfinite(limits)).any():
                ax.scatter(x[~applies], limits[~applies], marker="_", s=80, color=color, alpha=0.35)
    if swept is None:
        ax.set_xticks(range(len(bound.algorithms)))
        ax.set_xticklabels(bound.algorithms, rotation=20, ha="right", fontsize=8)
    else:
        ax.set_xscale("log")
        ax.set_xlabel(_axis_label(swept, units))
    ax.set_yscale("log")
    ax.set_ylabel(bound.metric.replace("_", " "))


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
    ran = {t.algorithm_id for t in traces}
    panels = list(scenario.panels) + list(scenario.bounds)
    if not panels:
        return None
    swept = scenario.sweep.parameter.partition(".")[2] if scenario.sweep else None
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, bound in zip(axes.flat, panels):
        if isinstance(bound, Panel):
            _plain_panel(ax, bound, [t for t in traces if t.algorithm_id in ran], units)
        elif bound.form == "count":
            _count_panel(ax, bound, traces, units, swept)
        elif swept is not None and bound.axis == swept:
            _sweep_panel(ax, scenario, bound, traces, verdicts, units)
        else:
            _curve_panel(ax, scenario, bound, traces, verdicts, units)
        title = bound.title if isinstance(bound, Panel) else bound.text
        ax.set_title("\n".join(textwrap.wrap(title or bound.metric, 70)), fontsize=9)
        ax.grid(True, which="both", alpha=0.25)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize=7)
    fig.suptitle("\n".join(textwrap.wrap(scenario.title, 75 * columns)), fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
