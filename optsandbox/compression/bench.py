"""Benchmarks: the compression kernel against a vectorised NumPy version of the same rounds.

Both sides run EControl (top-k, eta = 0.1, dense initial shift) on the same heterogeneous quadratic, and
both evaluate the same per-round measurements (f_gap and ||grad f||^2), so the work is identical.
"""
from __future__ import annotations

import numpy as np

from ..api import BenchCase, Budget
from . import algorithms, problems


def _numpy_econtrol(inst, gamma, k, eta, T):
    ref = inst.reference
    n, d = int(ref["n_clients"]), inst.dim
    data = inst.data
    H = data[3:3 + d * d].reshape(d, d)
    c = data[3 + d * d:3 + d * d + n]
    B = data[3 + d * d + n:3 + d * d + n + n * d].reshape(n, d)
    x_star = ref["x_star"]
    c_bar = c.mean()
    x = np.zeros(d)
    e = np.zeros((n, d))
    h = None
    rows = np.arange(n)[:, None]
    log = np.empty((T, 2))
    for t in range(T):
        g = c[:, None] * (H @ x)[None, :] - B
        diff = x - x_star
        log[t, 0] = 0.5 * c_bar * diff @ H @ diff
        gm = g.mean(axis=0)
        log[t, 1] = gm @ gm
        if h is None:
            h = g.copy()
        p = eta * e + g - h
        keep = np.argpartition(-np.abs(p), k - 1, axis=1)[:, :k]
        delta = np.zeros_like(p)
        delta[rows, keep] = p[rows, keep]
        e += g - h - delta
        h += delta
        x = x - gamma * h.mean(axis=0)
    return x, log


def cases() -> list[BenchCase]:
    out = []
    for n, d, T in ((10, 100, 500), (32, 400, 100)):
        inst = problems.build_hetero_quadratic(
            dict(n=n, d=d, zeta=10.0, condition=10.0, L=1.0, planted=False, sigma=0.0, use_mu=True),
            np.random.default_rng(0))
        params = dict(compressor="topk", k_ratio=0.1, step=0.2, stop_rel=0.0, eta=0.1, init="dense")
        k = max(1, int(np.ceil(0.1 * d)))

        def run_numba(inst=inst, params=params, T=T):
            algorithms.run_econtrol(inst, params, Budget(T, 10), np.random.default_rng(0))

        def run_numpy(inst=inst, k=k, T=T):
            _numpy_econtrol(inst, 0.2 / inst.reference["L"], k, 0.1, T)

        out.append(BenchCase(f"econtrol n={n} d={d}", run_numba, run_numpy,
                             f"{T} rounds of EControl, {n} clients, d={d}, top-{k}"))
    return out
