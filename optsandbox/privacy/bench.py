"""Benchmarks: the DIFF2-GD kernel against a vectorised NumPy version of the same rounds.

Both sides run DIFF2-GD with fixed R, T and noise (sigma_1 = sigma_2 = 0.05) on the same DP-1 instance:
per-sample gradients at x_r (and x_{r-1} in difference rounds), per-sample clipping, the exact gradient
norm as a measurement -- identical work; only the random streams differ.
"""
from __future__ import annotations

import numpy as np

from ..api import BenchCase
from . import algorithms, problems
from .oracles import unpack


def _numpy_diff2(A, b, eta, T, C1, C2, s1, s2, R, rng):
    N, d = A.shape
    x = np.zeros(d)
    x_prev = x.copy()
    v = np.zeros(d)
    usum = 0.0

    def per_sample(z):
        u = A @ z - b
        return (u / (1.0 + 0.5 * u * u))[:, None] * A

    def clipped_mean(G, c):
        norms = np.linalg.norm(G, axis=1)
        scale = np.where(norms > c, c / np.where(norms > 0, norms, 1.0), 1.0)
        return (G * scale[:, None]).mean(axis=0)

    for r in range(R):
        G = per_sample(x)
        full = G.mean(axis=0)
        if r % T == 0:
            v = clipped_mean(G, C1) + C1 * s1 * rng.standard_normal(d)
        else:
            c = C2 * np.linalg.norm(x - x_prev)
            v = v + clipped_mean(G - per_sample(x_prev), c) + c * s2 * rng.standard_normal(d)
        usum += full @ full
        x_prev = x
        x = x - eta * v
    return x, usum / R


def cases() -> list[BenchCase]:
    out = []
    for n, d, R in ((1000, 10, 200), (5000, 50, 40)):
        inst = problems.build_robust_regression(dict(n=n, P=2, d=d, noise_scale=0.1, reference_solve=False),
                                                np.random.default_rng(0))
        _, _, A, b = unpack(inst.data)
        G = inst.reference["G"]
        T = 10

        def run_numba(inst=inst, G=G, R=R, T=T):
            algorithms._kernel_run(inst, 0.5, T, G, 1.0, 0.05, 0.05, R, 10, np.random.default_rng(0))

        def run_numpy(A=A, b=b, G=G, R=R, T=T):
            _numpy_diff2(A, b, 0.5, T, G, 1.0, 0.05, 0.05, R, np.random.default_rng(0))

        out.append(BenchCase(f"diff2 N={2 * n} d={d}", run_numba, run_numpy,
                             f"{R} rounds of DIFF2-GD (T={T}), N={2 * n} records, d={d}"))
    return out
