"""Benchmark cases: the online game loop against plain NumPy versions of the same learners.

Same environment (noise drawn per round, d normals), same updates, same bookkeeping (running sums and
both comparators at the same record rounds by the same bisection), so the two sides do identical work.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import BenchCase, Budget
from . import algorithms
from .problems import build_sea_quadratic

def _environment() -> dict:
    """The sea_quadratic defaults from the catalog, with the benchmark's few choices on top."""
    from . import CATALOG

    spec = next(p for p in CATALOG.problems if p.name == "sea_quadratic")
    params = {p.name: p.default for p in spec.params}
    params.update(d=20, R=1.0, q_power=2.0, q_floor=0.0, c_norm=0.5, c_along="uniform", regime="iid",
                  noise=0.5, noise_decay=0.25, switch_power=0.5)
    return params


def _ball_min(t, q, b, R):
    x = b / (t * q)
    if x @ x <= R * R:
        return 0.5 * t * x @ (q * x) - b @ x
    lo, hi = 0.0, np.linalg.norm(b) / R
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        y = b / (t * q + mid)
        lo, hi = (mid, hi) if y @ y > R * R else (lo, mid)
    x = b / (t * q + hi)
    return 0.5 * t * x @ (q * x) - b @ x


def oomd_numpy(inst, T: int, record_every: int, seed: int):
    """Optimistic OMD (convex, adaptive step) with pseudo and realized regret, in NumPy."""
    r = inst.reference
    q, c, R, D, G = r["q"], r["c"], r["R"], r["D"], r["G"]
    s = r["noise"]
    delta = 16 * r["L"] ** 2 * D ** 2
    rng = np.random.default_rng(seed)
    d = q.size
    proj = lambda v: v * min(1.0, R / max(np.linalg.norm(v), 1e-300))  # noqa: E731
    xh, m = np.zeros(d), np.zeros(d)
    V = sum_F = sum_f = sum_cQc = 0.0
    sum_c, sum_xi = np.zeros(d), np.zeros(d)
    rows, next_geo = [], 1.0
    for t in range(1, T + 1):
        eta = D / math.sqrt(delta + 4 * G * G + V)
        x = proj(xh - eta * m)
        z = rng.standard_normal(d)
        xi = s * z / np.linalg.norm(z)
        g = q * (x - c) + xi
        F = 0.5 * np.sum(q * (x - c) ** 2)
        sum_F += F
        sum_f += F + xi @ x
        sum_c += c
        sum_cQc += c @ (q * c)
        sum_xi += xi
        xh = proj(xh - eta * g)
        V += np.sum((g - m) ** 2)
        m = g
        if t % record_every == 0 or t < 3 or t >= next_geo or t == T:
            while next_geo <= t:
                next_geo *= 1.1
            b = q * sum_c
            rows.append((sum_F - _ball_min(t, q, b, R) - 0.5 * sum_cQc,
                         sum_f - _ball_min(t, q, b - sum_xi, R) - 0.5 * sum_cQc))
    return np.array(rows)


def cases() -> list[BenchCase]:
    inst = build_sea_quadratic(_environment(), np.random.default_rng(0))
    T, every = 20000, 1000
    params = dict(delta_scale=1.0)
    return [BenchCase(
        "oomd d=20 T=20000",
        lambda: algorithms.run_oomd(inst, params, Budget(T, every), np.random.default_rng(0)),
        lambda: oomd_numpy(inst, T, every, 0),
        f"{T} rounds of optimistic OMD in E1 (i.i.d. noise), regrets at ~120 record rounds")]
