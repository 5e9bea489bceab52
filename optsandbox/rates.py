"""Measured rates against theorems: tail fits across seeds, verdicts, and the evaluation of claims.

A theorem is an upper bound, so a run may beat it. For each bound of a scenario and each algorithm it
names, the metric is fitted on the tail of every seed's curve and the median exponent is compared with the
theorem's:

* ``power`` -- metric ~ C t^p: least squares of log metric on log t; p is the exponent (negative for a
  decay, positive for a growth such as regret). Faster means a smaller p.
* ``exp`` -- metric ~ C exp(-r t): least squares of log metric on t; r is the rate. Faster means larger r.
* ``log`` -- metric ~ C log t: the exponent q of metric/log(t) ~ t^q must not exceed the declared value
  (0 by default) by more than the tolerance, which is absolute here.
* ``count`` -- a per-run event (e.g. iterations_to_separation) must not exceed its bound, in every run.

Verdicts: "faster than the bound", "matches the bound", "slower than the bound" (a violation), "within
bound" / "violates bound" for counts, "outside theory: <condition>" when the run's parameters lie outside
the theorem's assumptions, and "diverged at iteration k" (a violation when the theory applies).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .claims import ClaimEvaluationError, evaluate, parse
from .scenario import Bound, Claim, Scenario
from .trace import Trace

FASTER = "faster than the bound"
MATCHES = "matches the bound"
SLOWER = "slower than the bound"
WITHIN = "within bound"
VIOLATES = "violates bound"


# ---------------------------------------------------------------------------------------------------
# Fits


def _tail_mask(x: np.ndarray, tail: float, log_scale: bool) -> np.ndarray:
    u = np.log(x) if log_scale else x
    lo, hi = u.min(), u.max()
    return u >= lo + (1.0 - tail) * (hi - lo)


def _usable(x, y, positive_x: bool):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (y > 0)
    if positive_x:
        ok &= x > 0
    return x[ok], y[ok]


def fit_power(x, y, tail: float = 0.5) -> float:
    """Return the exponent p of y ~ C x^p fitted on the last ``tail`` fraction of log x (NaN if < 2 points)."""
    x, y = _usable(x, y, positive_x=True)
    if x.size < 2 or np.ptp(x) == 0:
        return math.nan
    m = _tail_mask(x, tail, log_scale=True)
    if m.sum() < 2:
        m = np.zeros_like(m)
        m[-2:] = True
    return float(np.polyfit(np.log(x[m]), np.log(y[m]), 1)[0])


def fit_exp(x, y, tail: float = 0.5) -> float:
    """Return the rate r of y ~ C exp(-r x) fitted on the last ``tail`` fraction of x (NaN if < 2 points)."""
    x, y = _usable(x, y, positive_x=False)
    if x.size < 2 or np.ptp(x) == 0:
        return math.nan
    m = _tail_mask(x, tail, log_scale=False)
    if m.sum() < 2:
        m = np.zeros_like(m)
        m[-2:] = True
    return float(-np.polyfit(x[m], np.log(y[m]), 1)[0])


def fit_log(x, y, tail: float = 0.5) -> float:
    """Return the exponent q of y / log(x) ~ x^q on the tail (q <= 0: growth at most logarithmic)."""
    x, y = _usable(x, y, positive_x=True)
    keep = x > 1
    x, y = x[keep], y[keep]
    if x.size < 2:
        return math.nan
    return fit_power(x, y / np.log(x), tail)


FITS = {"power": fit_power, "exp": fit_exp, "log": fit_log}


def compare(form: str, measured: float, theory: float, tolerance: float, better: str = "smaller") -> str:
    """Return the verdict of a fitted exponent against the theorem's.

    ``better = "larger"`` (power form only) mirrors the comparison, for an axis whose limit is 0.
    """
    if not math.isfinite(measured):
        return "no fit (too few positive points)"
    if better == "larger":
        return compare(form, -measured, -theory, tolerance)
    if form == "exp":
        if measured > theory * (1 + tolerance):
            return FASTER
        if measured >= theory * (1 - tolerance):
            return MATCHES
        return SLOWER
    band = tolerance if form == "log" or theory == 0 else tolerance * abs(theory)
    if measured < theory - band:
        return FASTER
    if measured <= theory + band:
        return MATCHES
    return SLOWER


# ---------------------------------------------------------------------------------------------------
# Verdicts


@dataclass
class BoundVerdict:
    algorithm_id: str
    metric: str
    axis: str
    form: str
    measured: float  # median over seeds (exponent, rate, or the largest count)
    low: float  # spread over seeds (min)
    high: float  # (max)
    theory: float
    verdict: str
    violation: bool
    seeds: int
    sweep_value: object = None
    note: str = ""

    def to_json(self) -> dict:
        return {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v))
                for k, v in self.__dict__.items()}


class MissingRuns(ClaimEvaluationError):
    """A claim about an algorithm that was not run (e.g. filtered out by --algo): not evaluated."""


@dataclass
class ClaimVerdict:
    text: str
    check: str
    holds: bool | None
    detail: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Verdicts:
    bounds: list[BoundVerdict] = field(default_factory=list)
    claims: list[ClaimVerdict] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(b.violation for b in self.bounds) or any(c.holds is False for c in self.claims)

    def to_json(self) -> dict:
        return {"bounds": [b.to_json() for b in self.bounds], "claims": [c.to_json() for c in self.claims],
                "failed": self.failed}


def _theory_of(bound: Bound, traces: list[Trace]):
    """Return (value, applicable, condition) of the theorem for these runs."""
    theories = [t.theory.get(bound.metric) for t in traces]
    inapplicable = [th for th in theories if th is not None and not th.applicable]
    if inapplicable:
        return math.nan, False, inapplicable[0].condition
    # an applicable theorem may carry a caveat (e.g. "constants estimated by sampling"): shown beside the verdict
    caveat = next((th.condition for th in theories if th is not None and th.condition), "")
    if bound.rate != "theory":
        return float(bound.rate), True, caveat
    known = [th.value for th in theories if th is not None]
    if not known:
        return math.nan, True, f"the algorithm states no theory for {bound.metric!r}"
    return float(np.median(known)), True, caveat


def _series(trace: Trace, bound: Bound):
    if bound.axis not in trace.columns:
        raise KeyError(f"run {trace.key} has no axis column {bound.axis!r}; it has: {', '.join(trace.columns)}")
    return trace.column(bound.axis), trace.column(bound.metric)


def _diverged_note(runs: list[Trace]) -> str:
    bad = [t for t in runs if t.diverged]
    if not bad:
        return ""
    its = sorted(t.stop_iteration for t in bad)
    return f"diverged at iteration {its[0]}" + (f" ({len(bad)}/{len(runs)} seeds)" if len(runs) > 1 else "")


def _bound_curve(bound: Bound, runs: list[Trace], algo_id: str, sweep_value) -> BoundVerdict:
    value, applicable, condition = _theory_of(bound, runs)
    diverged = _diverged_note(runs)
    common = dict(algorithm_id=algo_id, metric=bound.metric, axis=bound.axis, form=bound.form,
                  seeds=len(runs), sweep_value=sweep_value)
    if bound.form == "count":
        counts, limits = [], []
        for t in runs:
            counts.append(t.events.get(bound.metric, math.nan))
            th = t.theory.get(bound.metric)
            limits.append(th.value if (bound.rate == "theory" and th is not None) else value)
        counts, limits = np.array(counts, float), np.array(limits, float)
        ok = np.isfinite(counts) & (counts >= 0)
        measured = float(np.max(counts[ok])) if ok.any() else math.nan
        limit = float(np.min(limits)) if limits.size else math.nan
        if not applicable:
            verdict, violation = f"outside theory: {condition}", False
        elif not ok.all():
            verdict, violation = "event not reached within the budget", True
            diverged = diverged or f"{int((~ok).sum())}/{len(runs)} runs never reached it"
        elif not np.isfinite(limits).all():
            verdict, violation = "no theory", True
        else:
            # For an integer count, count <= bound is the same as count <= floor(bound); a real-valued
            # event (e.g. a distance) is compared as is. The relative slack only absorbs the bound's rounding.
            fails = counts > limits * (1.0 + 1e-12)
            verdict, violation = (VIOLATES, True) if fails.any() else (WITHIN, False)
        return BoundVerdict(measured=measured, low=float(np.min(counts)) if counts.size else math.nan,
                            high=measured, theory=limit, verdict=verdict, violation=violation,
                            note=diverged or condition, **common)
    fit = FITS[bound.form]
    fitted, own = [], []
    for t in runs:
        if t.diverged:
            continue
        x, y = _series(t, bound)
        fitted.append(fit(x, y, bound.tail))
        th = t.theory.get(bound.metric)
        own.append(th.value if (th is not None and bound.rate == "theory") else math.nan)
    fitted_arr = np.array(fitted, float)
    good = fitted_arr[np.isfinite(fitted_arr)]
    measured = float(np.median(good)) if good.size else math.nan
    own_arr = np.array(own, float)
    keep = np.isfinite(fitted_arr) & np.isfinite(own_arr)
    if keep.sum() > 1 and np.ptp(own_arr[keep]) > 1e-12 * np.max(np.abs(own_arr[keep])):
        # Random instances have their own theorem each: judge every seed against its own value, then report
        # the median deviation on the scale of the median theorem (a ratio for rates, a shift for exponents).
        if bound.form == "exp":
            measured = value * float(np.median(fitted_arr[keep] / own_arr[keep]))
        else:
            measured = value + float(np.median(fitted_arr[keep] - own_arr[keep]))
    low = float(good.min()) if good.size else math.nan
    high = float(good.max()) if good.size else math.nan
    note = condition
    if not applicable:
        verdict, violation = f"outside theory: {condition}", False
        note = diverged  # the condition is in the verdict; a divergence must still be visible
    elif diverged:
        verdict, violation = diverged, True
    elif not math.isfinite(value):
        verdict, violation = "no theory", True
    else:
        verdict = compare(bound.form, measured, value, bound.tolerance, bound.better)
        violation = verdict not in (FASTER, MATCHES)
        shortfall = _shortfall(bound, measured, value)
        if verdict == MATCHES and shortfall:
            note = "; ".join(filter(None, [condition, shortfall]))
    return BoundVerdict(measured=measured, low=low, high=high, theory=value, verdict=verdict,
                        violation=violation, note=note, **common)


def _shortfall(bound: Bound, measured: float, theory: float) -> str:
    """Say so when a "matches" verdict is slower than the theorem (inside the tolerance, not beyond it)."""
    if bound.form == "exp":
        slower = measured < theory
        size = (theory - measured) / theory if theory else math.nan
    else:
        sign = -1.0 if bound.better == "larger" else 1.0
        slower = sign * (measured - theory) > 0
        size = abs(measured - theory) / abs(theory) if theory else abs(measured - theory)
    if not slower or not math.isfinite(size) or size < 1e-3:
        return ""
    unit = "" if (bound.form != "exp" and theory == 0) else "%"
    amount = f"{100 * size:.0f}%" if unit else f"{size:.3g}"
    return f"slower than the theorem by {amount}, inside the tolerance"


def _bound_sweep(bound: Bound, runs: list[Trace], algo_id: str) -> BoundVerdict:
    """Fit the log-log slope of a per-run event (or final metric) against the swept parameter."""
    per_seed: dict[int, list[tuple[float, float]]] = {}
    missing = 0
    for t in runs:
        y = t.events.get(bound.metric)
        if y is None:
            y = t.final(bound.metric) if bound.metric in t.columns else math.nan
        if not (math.isfinite(y) and y > 0):
            missing += 1  # the event never happened (-1 or NaN): the fit cannot use this point
        per_seed.setdefault(t.seed_index, []).append((float(t.sweep_value), float(y)))
    slopes = []
    for pairs in per_seed.values():
        pairs.sort()
        x, y = np.array(pairs).T
        slopes.append(fit_power(x, y, tail=bound.tail))
    slopes_arr = np.array(slopes, float)
    good = slopes_arr[np.isfinite(slopes_arr)]
    measured = float(np.median(good)) if good.size else math.nan
    if abs(measured) < 1e-12:
        measured = 0.0  # a slope of 1e-17 from a flat line is rounding noise, not a measurement
    value, applicable, condition = _theory_of(bound, runs)
    if not applicable:
        verdict, violation = f"outside theory: {condition}", False
    elif not math.isfinite(value):
        verdict, violation = "no theory", True
    else:
        verdict = compare("power", measured, value, bound.tolerance, bound.better)
        violation = verdict not in (FASTER, MATCHES)
    note = _diverged_note(runs) or condition
    if missing:
        note = (note + "; " if note else "") + f"{missing}/{len(runs)} runs without a usable value (not fitted)"
    return BoundVerdict(algorithm_id=algo_id, metric=bound.metric, axis=bound.axis, form="slope",
                        measured=measured, low=float(good.min()) if good.size else math.nan,
                        high=float(good.max()) if good.size else math.nan, theory=value,
                        verdict=verdict, violation=violation, seeds=len(per_seed), note=note)


def check_bounds(scenario: Scenario, traces: list[Trace]) -> list[BoundVerdict]:
    out = []
    swept = scenario.sweep.parameter.partition(".")[2] if scenario.sweep else None
    for bound in scenario.bounds:
        for algo_id in bound.algorithms:
            runs = [t for t in traces if t.algorithm_id == algo_id]
            if not runs:
                continue
            if swept is not None and bound.axis == swept and bound.form != "count":
                out.append(_bound_sweep(bound, runs, algo_id))
                continue
            values = sorted({t.sweep_value for t in runs}, key=lambda v: (v is None, v))
            for v in values:
                group = sorted((t for t in runs if t.sweep_value == v), key=lambda t: t.seed_index)
                out.append(_bound_curve(bound, group, algo_id, v))
    return out


# ---------------------------------------------------------------------------------------------------
# Claims


def claim_functions(scenario: Scenario, traces: list[Trace], bounds: list[BoundVerdict]) -> dict:
    def runs(algo_id: str) -> list[Trace]:
        found = [t for t in traces if t.algorithm_id == algo_id]
        if not found:
            raise MissingRuns(f"no runs of {algo_id!r} (filtered out, or not an id: {scenario.ids()})")
        return found

    def median(values):
        """Median ignoring NaN only: +inf ("never reached") is a legitimate, worst possible value."""
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        return float(np.median(values)) if values.size else math.nan

    def event_values(algo_id, name):
        out = []
        for t in runs(algo_id):
            if name not in t.events:
                raise ClaimEvaluationError(f"runs of {algo_id!r} have no event {name!r}; "
                                           f"events: {', '.join(t.events) or '(none)'}")
            v = t.events[name]
            out.append(v if v >= 0 else math.inf)  # -1 means "never": worse than any count
        return out

    def bound_for(algo_id, metric) -> BoundVerdict:
        for b in bounds:
            if b.algorithm_id == algo_id and b.metric == metric:
                return b
        raise ClaimEvaluationError(f"the scenario declares no bound on {metric!r} for {algo_id!r}")

    def at(algo_id, metric, x, axis="iteration"):
        vals = []
        for t in runs(algo_id):
            it = t.column(axis)
            idx = np.flatnonzero(it <= x)
            vals.append(t.column(metric)[idx[-1]] if idx.size else math.nan)
        return median(vals)

    return {
        "final": lambda a, m: median([t.final(m) for t in runs(a)]),
        "first": lambda a, m: median([t.column(m)[0] for t in runs(a)]),
        "max": lambda a, m: median([np.nanmax(t.column(m)) for t in runs(a)]),
        "event": lambda a, e: median(event_values(a, e)),
        "worst": lambda a, e: float(np.max(event_values(a, e))),
        "best": lambda a, e: float(np.min(event_values(a, e))),
        "rate": lambda a, m: bound_for(a, m).measured,
        "theory": lambda a, m: bound_for(a, m).theory,
        "slope": lambda a, m: _slope_claim(runs(a), m),
        "at": at,
        "event_at": lambda a, e, v: median([t.events.get(e, math.nan) for t in runs(a)
                                            if t.sweep_value is not None
                                            and math.isclose(float(t.sweep_value), v, rel_tol=1e-9)]),
        "diverged": lambda a: float(np.mean([t.diverged for t in runs(a)])),
        "ref": lambda a, name: median([_reference(t, name) for t in runs(a)]),
        "abs": abs, "log": math.log, "min": min, "max2": max,
    }


def _reference(trace: Trace, name: str) -> float:
    if name not in trace.reference:
        raise ClaimEvaluationError(f"the problem of {trace.algorithm_id!r} has no reference {name!r}; it has: "
                                   f"{', '.join(trace.reference) or '(none)'}")
    return trace.reference[name]


def _slope_claim(runs: list[Trace], metric: str) -> float:
    pairs: dict[float, list[float]] = {}
    for t in runs:
        if t.sweep_value is None:
            raise ClaimEvaluationError("slope() needs a scenario with a [sweep]")
        y = t.events.get(metric, t.final(metric) if metric in t.columns else math.nan)
        pairs.setdefault(float(t.sweep_value), []).append(y)
    x = np.array(sorted(pairs))
    y = np.array([np.median(pairs[v]) for v in x])
    return fit_power(x, y, tail=1.0)


def check_claims(scenario: Scenario, traces: list[Trace], bounds: list[BoundVerdict]) -> list[ClaimVerdict]:
    functions = claim_functions(scenario, traces, bounds)
    out = []
    for claim in scenario.claims:
        out.append(_check_claim(claim, functions))
    return out


def _check_claim(claim: Claim, functions: dict) -> ClaimVerdict:
    trail: list[str] = []
    try:
        value = evaluate(parse(claim.check), functions, trail)
    except MissingRuns as exc:
        return ClaimVerdict(claim.text, claim.check, None, f"not evaluated: {exc}")
    except (ClaimEvaluationError, KeyError, ValueError, ZeroDivisionError) as exc:
        # A claim that names a metric or event the runs do not have is a broken scenario: fail loudly.
        return ClaimVerdict(claim.text, claim.check, False, f"error: {exc}")
    if isinstance(value, bool):
        measured = "; ".join(trail)
        return ClaimVerdict(claim.text, claim.check, value, ("holds" if value else "fails")
                            + (f" ({measured})" if measured else ""))
    return ClaimVerdict(claim.text, claim.check, None, f"not a comparison (value {value!r})")


def verdicts(scenario: Scenario, traces: list[Trace]) -> Verdicts:
    bounds = check_bounds(scenario, traces)
    return Verdicts(bounds, check_claims(scenario, traces, bounds))
