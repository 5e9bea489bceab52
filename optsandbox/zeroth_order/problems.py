"""Problems of the zeroth-order family, each with a reference answer computed without any algorithm.

Single objectives (ZO-RankSGD, spec A.7):

* ``zo_quadratic`` -- f(x) = 1/2 (x - x_c)^T A (x - x_c), A = diag(1 + 9 (i-1)/(d-1)): x* = x_c, f* = 0,
  L = 10, in closed form.
* ``zo_wave`` -- the same plus sum_i beta (1 - cos(omega y_i)), y = x - x_c: smooth and nonconvex once
  beta omega^2 > min a_i (many stationary points), f >= 0 = f(x_c) term by term, so f* = 0 exactly;
  L = max a_i + beta omega^2.
* ``zo_quadratic_lowrank`` -- f(x) = x^T A x + b^T x, A = G G^T / d (rank d/2), b = A c: f* = -c^T A c / 4
  (minimizers -c/2 + null(A)), L = 2 lambda_max(A) by a symmetric eigensolver.
* ``rosenbrock`` -- x* = 1, f* = 0; not globally L-smooth (no rate theory applies).

Federated objectives (FZooS, spec B.7), p(x) = 20 clip(x, 0, 1) - 10 mapping [0, 1]^d to [-10, 10]^d, with
per-client coefficients from Dirichlet(1/N) rows:

* ``fed_quadratic`` -- f_i = (0.1/d)(sum_j c1_ij p_j^2 + sum_j c2_ij p_j + 1). F is separable in p; the
  optimum is computed per coordinate in closed form from the averaged coefficients.
* ``fed_levy`` -- f_i = Levy(c1_i * (p - c2_i)). Levy is a sum of one-dimensional terms, so F is separable
  too: its global optimum is found per coordinate by a dense grid on [-10, 10] refined by a bounded scalar
  minimization (a global answer, not a multi-start guess).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from ..api import Instance
from . import oracles


def _diag_curvatures(d: int) -> np.ndarray:
    return 1.0 + 9.0 * np.arange(d) / max(d - 1, 1)


def _start(center: np.ndarray, init_radius: float, rng) -> np.ndarray:
    """x_0 = x_c + N(0, I) (init_radius = 0) or x_c + init_radius * (uniform unit vector)."""
    v = rng.standard_normal(center.shape[0])
    if init_radius > 0:
        v *= init_radius / np.linalg.norm(v)
    return center + v


def _separable(params: dict, rng, beta: float, omega: float) -> Instance:
    d = params["dim"]
    a = _diag_curvatures(d)
    xc = rng.standard_normal(d)
    x0 = _start(xc, params["init_radius"], rng)
    data = np.concatenate([[d, beta, omega], a, xc]).astype(np.float64)
    y = x0 - xc
    f0 = float(np.sum(0.5 * a * y * y + beta * (1.0 - np.cos(omega * y))))
    L = float(a.max() + beta * omega * omega)
    reference = {"f_star": 0.0, "x_star": xc, "x0": x0, "f0": f0, "gap0": f0, "L": L,
                 # f_0 - f* grows like d when x_0 - x_c ~ N(0, I), and stays O(1) at a fixed radius.
                 "gap_dim_exponent": 1.0 if params["init_radius"] <= 0 else 0.0,
                 "nonconvex": float(beta * omega * omega > a.min())}
    return Instance(data=data, oracles=oracles.SEPARABLE, reference=reference, dim=d)


def build_zo_quadratic(params: dict, rng: np.random.Generator) -> Instance:
    """zo_quadratic: f(x) = 1/2 sum_i a_i (x_i - x_c,i)^2, a_i from 1 to 10; f* = 0, L = 10."""
    return _separable(params, rng, 0.0, 1.0)


def build_zo_wave(params: dict, rng: np.random.Generator) -> Instance:
    """zo_wave: zo_quadratic + beta sum_i (1 - cos(omega y_i)); f* = 0 at x_c, L = 10 + beta omega^2."""
    return _separable(params, rng, params["beta"], params["omega"])


def build_zo_quadratic_lowrank(params: dict, rng: np.random.Generator) -> Instance:
    """zo_quadratic_lowrank: f = x^T A x + b^T x, A = G G^T/d, b = A c; f* = -c^T A c/4, L = 2 lambda_max."""
    d = params["dim"]
    G = rng.standard_normal((d, max(d // 2, 1)))
    A = G @ G.T / d
    c = rng.standard_normal(d)
    b = A @ c
    x0 = rng.standard_normal(d)
    f_star = float(-0.25 * c @ A @ c)
    f0 = float(x0 @ A @ x0 + b @ x0)
    L = float(2.0 * np.linalg.eigvalsh(A)[-1])
    data = np.concatenate([[d], A.ravel(), b]).astype(np.float64)
    reference = {"f_star": f_star, "x_star": -0.5 * c, "x0": x0, "f0": f0, "gap0": f0 - f_star, "L": L,
                 "gap_dim_exponent": 1.0, "nonconvex": 0.0}
    return Instance(data=data, oracles=oracles.LOWRANK, reference=reference, dim=d)


def build_rosenbrock(params: dict, rng: np.random.Generator) -> Instance:
    """rosenbrock: x* = (1, ..., 1), f* = 0; x_0 ~ N(0, I); L = inf (not globally smooth)."""
    d = params["dim"]
    x0 = rng.standard_normal(d)
    f0 = float(np.sum(100.0 * (x0[1:] - x0[:-1] ** 2) ** 2 + (1.0 - x0[:-1]) ** 2))
    reference = {"f_star": 0.0, "x_star": np.ones(d), "x0": x0, "f0": f0, "gap0": f0, "L": math.inf,
                 "gap_dim_exponent": 1.0, "nonconvex": 1.0}
    return Instance(data=np.array([float(d)]), oracles=oracles.ROSENBROCK, reference=reference, dim=d)


# ---------------------------------------------------------------------------------------------------
# Federated problems


def _dirichlet_coefficients(d: int, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Return D, D' of shape (N, d): column j of each is a Dirichlet(1/N, ..., 1/N) draw over clients."""
    alpha = np.full(n, 1.0 / n)
    D = rng.dirichlet(alpha, size=d).T
    D2 = rng.dirichlet(alpha, size=d).T
    return D, D2


def _fed_data(d: int, n: int, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    return np.concatenate([[d, n], c1.ravel(), c2.ravel(), np.zeros(n)]).astype(np.float64)


def fed_quadratic_optimum(c1: np.ndarray, c2: np.ndarray) -> tuple[np.ndarray, float]:
    """Return (x*, F*) of F = mean_i f_i in closed form, coordinate by coordinate (spec B.7).

    F = (0.1/d) [sum_j abar_j p_j^2 + sum_j bbar_j p_j + 1]; per coordinate minimize over p_j in [-10, 10]:
    the clipped vertex -bbar_j/(2 abar_j) when abar_j > 0, the better endpoint otherwise.
    """
    d = c1.shape[1]
    abar = c1.mean(axis=0)
    bbar = c2.mean(axis=0)
    p = np.empty(d)
    for j in range(d):
        if abar[j] > 0:
            p[j] = np.clip(-bbar[j] / (2.0 * abar[j]), -10.0, 10.0)
        else:
            ends = np.array([-10.0, 10.0])
            p[j] = ends[np.argmin(abar[j] * ends ** 2 + bbar[j] * ends)]
    F = 0.1 * (np.sum(abar * p * p + bbar * p) + 1.0) / d
    return (p + 10.0) / 20.0, float(F)


def build_fed_quadratic(params: dict, rng: np.random.Generator) -> Instance:
    """fed_quadratic: heterogeneous convex quadratic clients; x*, F* in closed form; x_0 ~ U[0, 1]^d."""
    d, n, div = params["dim"], params["clients"], params["div"]
    D, D2 = _dirichlet_coefficients(d, n, rng)
    c1 = 1.0 + div * (D - 1.0 / n)
    c2 = 1.0 + div * (D2 - 1.0 / n)
    x_star, F_star = fed_quadratic_optimum(c1, c2)
    x0 = rng.uniform(0.0, 1.0, d)
    abar = c1.mean(axis=0)
    reference = {"x_star": x_star, "F_star": F_star, "x0": x0,
                 "mu_sc": 80.0 * float(abar.min()) / d, "L": 80.0 * float(abar.max()) / d,
                 "L_clients": 80.0 * float(c1.max()) / d, "min_client_curvature": float(c1.min()),
                 "target_gap": params["target_gap"], "clients": float(n), "dim": float(d)}
    return Instance(data=_fed_data(d, n, c1, c2), oracles=oracles.FED_QUADRATIC, reference=reference,
                    dim=d)


def _levy_terms(z: np.ndarray, j: int, d: int) -> np.ndarray:
    """Return the coordinate-j part of Levy at z (vectorized over z)."""
    w = 1.0 + (z - 1.0) / 4.0
    out = np.zeros_like(w)
    if j == 0:
        out += np.sin(np.pi * w) ** 2
    if j < d - 1:
        out += (w - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * w + 1.0) ** 2)
    else:
        out += (w - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * w) ** 2)
    return out


def fed_levy_optimum(c1: np.ndarray, c2: np.ndarray, grid: int = 20001) -> tuple[np.ndarray, float]:
    """Return (x*, F*) of F = mean_i Levy(c1_i (p - c2_i)) by per-coordinate global 1-D minimization."""
    n, d = c1.shape
    p_star = np.empty(d)
    total = 0.0
    p_grid = np.linspace(-10.0, 10.0, grid)
    h = p_grid[1] - p_grid[0]
    for j in range(d):
        def Fj(p, j=j):
            p = np.atleast_1d(p)
            return np.mean([_levy_terms(c1[i, j] * (p - c2[i, j]), j, d) for i in range(n)], axis=0)

        vals = Fj(p_grid)
        i0 = int(np.argmin(vals))
        lo, hi = max(p_grid[i0] - h, -10.0), min(p_grid[i0] + h, 10.0)
        res = minimize_scalar(lambda p: float(Fj(p)[0]), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-12})
        best_p, best_v = (res.x, float(res.fun)) if res.fun <= vals[i0] else (p_grid[i0], float(vals[i0]))
        p_star[j] = best_p
        total += best_v
    return (p_star + 10.0) / 20.0, float(total)


def build_fed_levy(params: dict, rng: np.random.Generator) -> Instance:
    """fed_levy: heterogeneous nonconvex Levy clients; global optimum per coordinate (separable)."""
    d, n, div = params["dim"], params["clients"], params["div"]
    D, D2 = _dirichlet_coefficients(d, n, rng)
    c1 = 0.1 + div * (D - 1.0 / n)
    c2 = div * (D2 - 1.0 / n)
    x_star, F_star = fed_levy_optimum(c1, c2)
    x0 = rng.uniform(0.0, 1.0, d)
    reference = {"x_star": x_star, "F_star": F_star, "x0": x0, "target_gap": params["target_gap"],
                 "clients": float(n), "dim": float(d), "mu_sc": math.nan, "L": math.nan}
    return Instance(data=_fed_data(d, n, c1, c2), oracles=oracles.FED_LEVY, reference=reference, dim=d)
