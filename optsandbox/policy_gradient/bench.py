"""Benchmark cases: the policy-gradient kernels against plain NumPy implementations of the same work.

* Trajectory sampling throughput: N independent LQR trajectories (H steps) and their GPOMDP gradients. The
  NumPy side advances all N trajectories at once (arrays of shape (N, nx)), the way a NumPy user batches
  rollouts; only the loop over the H time steps stays in Python.
* N-HARPG on the LQR: one iteration = two sequential single-trajectory rollouts + GPOMDP + the
  Hessian-vector estimator. Nothing can be batched across iterations, so the NumPy side loops over time
  steps with small arrays and vectorizes the estimators over the trajectory (einsum / cumsum).

Work is given in environment steps; steps per second = steps / measured time.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import BenchCase
from . import kernels
from .algorithms import oracles_of, run_kernel
from .problems import LQRModel, build_lqr

LQR_PARAMS = {"instance": "default-2x1", "nx": 2, "nu": 1, "discount": 0.9, "sigma": 1.0, "horizon": 100,
              "control_cost": 0.1, "process_noise": 0.01, "start_distance": 0.0}


def numpy_gpomdp_batch(lq: LQRModel, K: np.ndarray, horizon: int, n: int, rng: np.random.Generator):
    """Return the (n, nu*nx) GPOMDP gradients of n LQR trajectories sampled together."""
    nx, nu = lq.B.shape
    w_std = np.sqrt(np.diag(lq.W))
    x = rng.standard_normal((n, nx)) * np.sqrt(np.diag(lq.Sigma0))
    grads = np.zeros((n, nu, nx))
    scores = np.empty((horizon, n, nu, nx))
    rewards = np.empty((horizon, n))
    for h in range(horizon):
        xi = rng.standard_normal((n, nu))
        u = x @ K.T + lq.sigma * xi
        rewards[h] = -(np.einsum("ni,ij,nj->n", x, lq.Q, x) + np.einsum("ni,ij,nj->n", u, lq.R, u))
        scores[h] = xi[:, :, None] * x[:, None, :] / lq.sigma
        x = x @ lq.A.T + u @ lq.B.T + rng.standard_normal((n, nx)) * w_std
    discounted = rewards * (lq.g ** np.arange(horizon))[:, None]
    psi = np.cumsum(discounted[::-1], axis=0)[::-1]
    grads = np.einsum("hn,hnij->nij", psi, scores)
    return grads.reshape(n, -1)


def _numpy_trajectory(lq: LQRModel, K, horizon, rng):
    nx, nu = lq.B.shape
    w_std = np.sqrt(np.diag(lq.W))
    xs = np.empty((horizon, nx))
    xis = np.empty((horizon, nu))
    rewards = np.empty(horizon)
    x = rng.standard_normal(nx) * np.sqrt(np.diag(lq.Sigma0))
    for h in range(horizon):
        xi = rng.standard_normal(nu)
        u = K @ x + lq.sigma * xi
        rewards[h] = -(x @ lq.Q @ x + u @ lq.R @ u)
        xs[h], xis[h] = x, xi
        x = lq.A @ x + lq.B @ u + w_std * rng.standard_normal(nx)
    psi = np.cumsum((rewards * lq.g ** np.arange(horizon))[::-1])[::-1]
    scores = xis[:, :, None] * xs[:, None, :] / lq.sigma  # (H, nu, nx)
    g = np.einsum("h,hij->ij", psi, scores)
    return g, scores, psi, xs


def numpy_n_harpg(lq: LQRModel, K0: np.ndarray, gamma0: float, trajectories: int, horizon: int,
                  rng: np.random.Generator) -> np.ndarray:
    """N-HARPG with the per-trajectory Hessian-vector estimator, written with NumPy arrays."""
    K = K0.copy()
    K_prev = K0.copy()
    d, _, _, _ = _numpy_trajectory(lq, K, horizon, rng)
    used, t = 1, 0
    while True:
        w = 2.0 / (t + 2.0)
        if t > 0:
            q = rng.random()
            point = q * K + (1 - q) * K_prev
            V = K - K_prev
            g, _, _, _ = _numpy_trajectory(lq, K, horizon, rng)
            g_hat, scores, psi, xs = _numpy_trajectory(lq, point, horizon, rng)
            S = scores.sum(axis=0)
            hv = g_hat * np.sum(S * V) - np.einsum("h,hi,hj->ij", psi, xs @ V.T, xs) / lq.sigma ** 2
            d = (1 - w) * (d + hv) + w * g
            used += 2
        K_prev = K
        norm = math.sqrt(np.sum(d * d))
        if norm > 0:
            K = K + gamma0 * w * d / norm
        t += 1
        if used + 2 > trajectories:
            return K


def cases() -> list[BenchCase]:
    inst = build_lqr(LQR_PARAMS, np.random.default_rng(0))
    lq = LQRModel.from_data(inst.data)
    horizon = int(LQR_PARAMS["horizon"])
    K = inst.reference["theta_star"].reshape(lq.B.shape[1], -1) * 0.5
    o = oracles_of(inst)
    theta = np.ascontiguousarray(K.ravel())
    zero = np.zeros(inst.dim)
    out = []
    for n in (2000, 20):  # a large batch (NumPy's best case) and a mini-batch of the size PG methods use
        g, cross, hterm = (np.empty((n, inst.dim)) for _ in range(3))
        out.append(BenchCase(
            f"LQR sampling + GPOMDP, {n} trajectories x H={horizon}",
            lambda g=g, cross=cross, hterm=hterm: kernels.estimator_kernel(
                *o[:5], inst.data, theta, zero, kernels.HVP_NONE, False, 1, g, cross, hterm),
            lambda n=n: numpy_gpomdp_batch(lq, K, horizon, n, np.random.default_rng(1)),
            f"{n * horizon} environment steps (NumPy: the {n} trajectories batched)"))
    budget = 400
    K0 = np.zeros((lq.B.shape[1], lq.A.shape[0]))
    out.append(BenchCase(
        f"N-HARPG on LQR, {budget} trajectories x H={horizon}",
        lambda: run_kernel(inst, kernels.N_HARPG, {"gamma0": 0.1}, budget, 50, 1),
        lambda: numpy_n_harpg(lq, K0, 0.1, budget, horizon, np.random.default_rng(1)),
        f"{budget * horizon} environment steps, {budget // 2} Hessian-vector products"))
    return out
