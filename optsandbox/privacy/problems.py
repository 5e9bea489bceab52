"""DP-1: robust nonconvex regression whose per-sample constants G and L do not depend on d or n.

l(x; a, b) = log(1 + (a^T x - b)^2/2) with unit-norm rows a (a ~ N(0, I_d) normalised),
b = a^T x_true + noise_scale * t_3 (Student-t, 3 degrees of freedom), x_true ~ N(0, I_d), x_0 = 0.
Records are split into P clients of n each (N = nP).

Reference facts, known without running any algorithm: G = 1/sqrt 2 and L = 1 (closed form, see
``oracles``), F0 = f(x_0) >= f(x_0) - inf f = Delta_f (l >= 0), grad_norm_sq0 = ||grad f(x_0)||^2, and
the stationary point x_ref found by scipy's L-BFGS with its gradient norm (a check that the problem has
a stationary point the private methods approach).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from ..api import Instance
from . import oracles


def robust_numpy(x: np.ndarray, A: np.ndarray, b: np.ndarray):
    """Return (f(x), grad f(x), per-sample gradients) in plain NumPy: the independent implementation."""
    u = A @ x - b
    psi = u / (1.0 + 0.5 * u * u)
    per_sample = psi[:, None] * A
    return float(np.mean(np.log1p(0.5 * u * u))), per_sample.mean(axis=0), per_sample


def build_robust_regression(params: dict, rng: np.random.Generator) -> Instance:
    n, P, d = int(params["n"]), int(params["P"]), int(params["d"])
    N = n * P
    x_true = rng.standard_normal(d)  # drawn first: one seed keeps the same model across a sweep over n
    A = rng.standard_normal((N, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    b = A @ x_true + float(params["noise_scale"]) * rng.standard_t(3, size=N)
    f0, g0, _ = robust_numpy(np.zeros(d), A, b)
    reference = {"G": 1.0 / math.sqrt(2.0), "L": 1.0, "F0": f0, "grad_norm_sq0": float(g0 @ g0),
                 "N": float(N), "n": float(n), "P": float(P), "d": float(d)}
    if params["reference_solve"]:
        sol = minimize(lambda x: robust_numpy(x, A, b)[:2], np.zeros(d), jac=True, method="L-BFGS-B",
                       options={"gtol": 1e-10, "maxiter": 2000})
        reference["f_ref"] = float(sol.fun)
        reference["grad_norm_ref"] = float(np.linalg.norm(robust_numpy(sol.x, A, b)[1]))
        reference["x_ref"] = sol.x
    return Instance(data=oracles.pack(P, n, A, b), oracles=oracles.ORACLES, reference=reference, dim=d)
