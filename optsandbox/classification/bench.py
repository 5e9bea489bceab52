"""Benchmark cases: the classification kernels against plain NumPy loops of the same updates."""
from __future__ import annotations

import numpy as np

from ..api import BenchCase
from . import kernels
from .algorithms import batch_path
from .problems import build_offset_anisotropic


def _numpy_lr_gd(B: np.ndarray, gamma: float, iterations: int) -> np.ndarray:
    """LR+GD as a NumPy user writes it: z = B theta, w = sigma(-z) (stable), theta += gamma/n B^T w."""
    n = B.shape[0]
    theta = np.zeros(B.shape[1])
    for _ in range(iterations):
        z = B @ theta
        w = np.where(z >= 0, np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))), 1 / (1 + np.exp(-np.abs(z))))
        theta += (gamma / n) * (B.T @ w)
    return theta


def _numpy_normalized_perceptron(B: np.ndarray, iterations: int) -> np.ndarray:
    theta = np.zeros(B.shape[1])
    for _ in range(iterations):  # like the kernel with stop_at_separation off: no early exit
        wrong = (B @ theta) <= 0
        if wrong.any():
            theta += B[wrong].mean(axis=0)
    return theta


def cases() -> list[BenchCase]:
    out = []
    for n, d in ((200, 10), (2000, 50)):
        params = {"n": n, "d": d, "offset": 3.0, "s_max": 1.0, "s_min": 10 ** -1.5, "tau": 0.05,
                  "pos_fraction": 0.0}
        inst = build_offset_anisotropic(params, np.random.default_rng(0))
        B = inst.data[2:2 + n * d].reshape(n, d).copy()
        iters = 200
        # stop_at_separation=False makes both sides do exactly `iters` iterations.
        out.append(BenchCase(
            f"lr_gd n={n} d={d}",
            lambda inst=inst, iters=iters: batch_path(inst, kernels.LOGISTIC, 1.0, iters, 10, False),
            lambda B=B, iters=iters: _numpy_lr_gd(B, 1.0, iters),
            f"{iters} iterations, every sample every iteration"))
        out.append(BenchCase(
            f"normalized_batch_perceptron n={n} d={d}",
            lambda inst=inst, iters=iters: batch_path(inst, kernels.NORMALIZED_PERCEPTRON, 1.0, iters, 10, False),
            lambda B=B, iters=iters: _numpy_normalized_perceptron(B, iters),
            f"{iters} iterations, no early stop on either side"))
    return out
