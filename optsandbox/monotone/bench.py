"""Benchmark cases: the monotone kernels against plain NumPy versions of the same updates.

Both sides use the same instance, the same full-operator shortcut (F(u) = Mbar u - mbar, counted as n
component calls) and the same per-step component work; the NumPy versions vectorize what can be
vectorized (the minibatch as one batched matmul) and loop in Python over iterations, as a NumPy user
would. Both record the residual at the same number of checkpoints.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import BenchCase, Budget
from . import algorithms
from .problems import build_bilinear_sum, build_coco_lowrank

_P1 = dict(n=1024, d=20, r=10, l_min=0.01, l_max=1.0, delta=0.05, s=2, active_power=1.0, box=0.0)
_P2 = dict(n=256, m=10, delta=0.5, quad=0.0, sv_min=0.1, sv_max=1.0, box=0.0)
_DEFAULTS = dict(step_scale=1.0, batch=0, target_rel=0.0, eta=0.0, gamma=0.0, inner_scale=1.0,
                 snapshot_reset="iterate")


def _affine(inst):
    n, d = int(inst.data[1]), int(inst.data[2])
    start = 8 + d * d + d
    Ms = inst.data[start:start + n * d * d].reshape(n, d, d)
    ms = inst.data[start + n * d * d:start + n * d * d + n * d].reshape(n, d)
    return Ms, ms, Ms.mean(axis=0), ms.mean(axis=0)


def vr_halpern_numpy(inst, epochs: float, seed: int) -> np.ndarray:
    """Algorithm 1 in NumPy: full pass with probability p_k, else a batched minibatch difference."""
    Ms, ms, Mbar, mbar = _affine(inst)
    n = Ms.shape[0]
    eta = 1.0 / inst.reference["L_avg_coco"]
    b = max(1, math.isqrt(n))
    rng = np.random.default_rng(seed)
    u0 = inst.reference["u0"]
    u = u0.copy()
    u_prev = u0.copy()
    ft = Mbar @ u - mbar
    calls, k, next_cp = float(n), 0, 1.0
    while calls < epochs * n:
        if k >= 1:
            p = 1.0 if k <= 1 else (4 / (k + 4) if k <= math.sqrt(n) + 1 else 4 / (math.sqrt(n) + 5))
            if rng.random() < p:
                ft = Mbar @ u - mbar
                calls += n
            else:
                idx = rng.choice(n, b, replace=False)
                ft = ft + (Ms[idx] @ (u - u_prev)).mean(axis=0)
                calls += 2 * b
        lam = 2 / (k + 4)
        u_prev = u
        u = lam * u0 + (1 - lam) * u - eta * ft
        k += 1
        if calls >= next_cp:
            np.linalg.norm(Mbar @ u - mbar)
            next_cp = calls * 1.1
    return u


def vr_eg_numpy(inst, epochs: float, seed: int) -> np.ndarray:
    """VR-EG in NumPy: one random component per step, snapshot refresh with probability 1/n."""
    Ms, ms, Mbar, mbar = _affine(inst)
    n = Ms.shape[0]
    p = 1.0 / n
    tau = 0.5 * math.sqrt(p) / inst.reference["L_avg_lip"]
    rng = np.random.default_rng(seed)
    z = inst.reference["u0"].copy()
    w = z.copy()
    fw = Mbar @ w - mbar
    calls, next_cp = float(n), 1.0
    while calls < epochs * n:
        zbar = (1 - p) * z + p * w
        half = zbar - tau * fw
        i = rng.integers(n)
        z = zbar - tau * (fw + Ms[i] @ (half - w))
        calls += 2
        if rng.random() < p:
            w = z
            fw = Mbar @ w - mbar
            calls += n
        if calls >= next_cp:
            np.linalg.norm(Mbar @ z - mbar)
            next_cp = calls * 1.1
    return z


def cases() -> list[BenchCase]:
    p1 = build_coco_lowrank(_P1, np.random.default_rng(0))
    p2 = build_bilinear_sum(_P2, np.random.default_rng(0))
    vr_epochs, eg_epochs = 200, 100
    return [
        BenchCase("vr_halpern n=1024 d=20",
                  lambda: algorithms.run_vr_halpern(p1, _DEFAULTS, Budget(vr_epochs, 50), np.random.default_rng(0)),
                  lambda: vr_halpern_numpy(p1, vr_epochs, 0),
                  f"{vr_epochs} epochs of Algorithm 1 (b = 32, ~6 sqrt(n) calls per step)"),
        BenchCase("vr_eg n=256 d=20",
                  lambda: algorithms.run_vr_eg(p2, _DEFAULTS, Budget(eg_epochs, 50), np.random.default_rng(0)),
                  lambda: vr_eg_numpy(p2, eg_epochs, 0),
                  f"{eg_epochs} epochs of VR-EG (2 component calls per step, refresh w.p. 1/n)"),
    ]
