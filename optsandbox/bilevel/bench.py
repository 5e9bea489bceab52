"""Benchmark cases: each main kernel against a plain vectorized NumPy version of the same iteration.

Both sides run the same number of iterations on the same instance with exact oracles (noise 0, so both
do identical arithmetic and no random draws) and record only the first and last iterates. The NumPy
versions are written the way a competent NumPy user would (matrix-vector products through ``@``); the
tests also use them as independent implementations of the updates (``test_bilevel``).
"""
from __future__ import annotations

import math

import numpy as np

from ..api import BenchCase, Budget


# ---------------------------------------------------------------------------------------------------
# Plain NumPy iterations (quadratic lower level g = y^T A y/2 - y^T B x, quadratic f = rho|x|^2/2 + |y-b|^2/2)


def borep_numpy(A, B, b, rho, x, y, iterations, eta, beta, nu, gamma, period, n_inner, eps_norm=1e-10):
    """Return (x, y, v) after ``iterations`` of practical-mode BO-REP ("clean" order, exact oracles)."""
    x, y = x.copy(), y.copy()
    v = np.zeros_like(y)
    m = np.zeros_like(x)
    for k in range(iterations):
        if k % period == 0:
            for _ in range(n_inner):
                y -= gamma * (A @ y - B @ x)
        px, py = rho * x, y - b
        v -= nu * (A @ v - py)
        m = beta * m + (1.0 - beta) * (px + B.T @ v)
        x -= eta * m / (np.linalg.norm(m) + eps_norm)
    return x, y, v


def soba_numpy(A, B, b, rho, x, y, iterations, rho_step, gamma):
    """Return (x, y, v) after ``iterations`` of SOBA with constant steps (exact oracles)."""
    x, y = x.copy(), y.copy()
    v = np.zeros_like(y)
    for _ in range(iterations):
        gy = A @ y - B @ x
        hv = A @ v
        jv = -(B.T @ v)
        y_new = y - rho_step * gy
        v = v - rho_step * (hv - (y - b))
        x = x - gamma * (rho * x - jv)
        y = y_new
    return x, y, v


def penalty_numpy(A, B, b, rho, x, y, z, iterations, sigma, alpha, gamma_y, gamma_z, M):
    """Return (x, y, z) after ``iterations`` outer steps of P1 (exact oracles, Y = R^{d_y})."""
    x, y, z = x.copy(), y.copy(), z.copy()
    for _ in range(iterations):
        for _ in range(M):
            y -= gamma_y * (sigma * (y - b) + A @ y - B @ x)
        for _ in range(M):
            z -= gamma_z * (A @ z - B @ x)
        d = rho * x + (-(B.T @ y) + B.T @ z) / sigma
        x = x - alpha * d
    return x, y, z


def lvhba_numpy(a, d, e, rho, x, y, iterations, alpha, beta, eta, gamma1, gamma2, c_lower, p, r):
    """Return (x, y, z, theta, lam) after ``iterations`` of LV-HBA on L4 (y <= x), exact oracles."""
    x, y = x.copy(), y.copy()
    over = y > x
    mid = 0.5 * (x + y)
    x, y = np.where(over, mid, x), np.where(over, mid, y)
    theta = y.copy()
    lam = np.zeros_like(x)
    z = np.zeros_like(x)
    for k in range(iterations):
        ck = c_lower * (k + 1.0) ** p
        d_theta = (theta - a) + lam + (theta - y) / gamma1
        d_lam = -(theta - x) + (lam - z) / gamma2
        theta = theta - eta * d_theta
        lam = np.clip(lam - eta * d_lam, 0.0, r)
        dx = rho * (x - e) / ck + 0.0 - 0.0 + lam
        dy = (y - d) / ck + (y - a) - (y - theta) / gamma1
        x, y = x - alpha * dx, y - alpha * dy
        over = y > x
        mid = 0.5 * (x + y)
        x, y = np.where(over, mid, x), np.where(over, mid, y)
        z = np.clip(z - beta * (z - lam) / gamma2, 0.0, r)
    return x, y, z, theta, lam


# ---------------------------------------------------------------------------------------------------
# Cases


def _quadratic(dim: int):
    from .problems import build_quadratic

    params = {"d_x": dim, "d_y": dim, "mu": 0.5, "L_g": 1.0, "rho": 1.0, "noise": 0.0, "x_start": 1.0,
              "y_start": 0.0}
    return build_quadratic(params, np.random.default_rng(0))


def _l4(dim: int):
    from .problems import build_coupled_inequality

    return build_coupled_inequality({"n": dim, "rho": 1.0, "noise": 0.0, "x_start": 0.0, "y_start": 0.0},
                                    np.random.default_rng(0))


def cases() -> list[BenchCase]:
    """Return BO-REP, SOBA, P1 and LV-HBA at d_x = d_y = 100 and 1000, numba kernel versus NumPy."""
    from . import algorithms

    out = []
    for dim in (100, 1000):
        inst = _quadratic(dim)
        ref = inst.reference
        A, B, b, rho = ref["A"], ref["B"], ref["b"], ref["rho"]
        x0, y0 = ref["x0"], ref["y0"]
        K = 2000 if dim == 100 else 200
        budget = Budget(K, K)
        bp = {"mode": "practical", "eta": 0.05, "beta": 0.9, "nu": 0.01, "gamma": 0.5, "period": 2, "init_refinement": True,
              "inner_steps": 3, "eps_norm": 1e-10, "order": "clean", "horizon": 0, "c_eta": 1.0}
        out.append(BenchCase(
            f"borep d={dim}",
            lambda inst=inst, bp=bp, budget=budget: algorithms.run_borep(inst, bp, budget, np.random.default_rng(0)),
            lambda A=A, B=B, b=b, rho=rho, x0=x0, y0=y0, K=K: borep_numpy(A, B, b, rho, x0, y0, K, 0.05, 0.9, 0.01,
                                                                          0.5, 2, 3),
            f"{K} iterations of BO-REP (I = 2, N = 3) on the quadratic problem, d_x = d_y = {dim}"))
        sp = {"rho": 0.5, "gamma": 0.01, "e_rho": 0.0, "e_gamma": 0.0}
        out.append(BenchCase(
            f"soba d={dim}",
            lambda inst=inst, sp=sp, budget=budget: algorithms.run_soba(inst, sp, budget, np.random.default_rng(0)),
            lambda A=A, B=B, b=b, rho=rho, x0=x0, y0=y0, K=K: soba_numpy(A, B, b, rho, x0, y0, K, 0.5, 0.01),
            f"{K} iterations of SOBA on the quadratic problem, d_x = d_y = {dim}"))
        Kp = K // 10
        pp = {"sigma": 0.01, "alpha": 0.01, "gamma_y": 0.5, "gamma_z": 0.5, "inner_steps": 5, "batch_inner": 1.0,
              "batch_outer": 1.0, "pair_sample": "same", "precision": 0.0}
        bud_p = Budget(Kp, Kp)
        out.append(BenchCase(
            f"penalty d={dim}",
            lambda inst=inst, pp=pp, bud=bud_p: algorithms.run_penalty(inst, pp, bud, np.random.default_rng(0)),
            lambda A=A, B=B, b=b, rho=rho, x0=x0, y0=y0, Kp=Kp: penalty_numpy(A, B, b, rho, x0, y0, y0, Kp, 0.01,
                                                                              0.01, 0.5, 0.5, 5),
            f"{Kp} outer iterations of P1 (M = 5) on the quadratic problem, d_x = d_y = {dim}"))
        l4 = _l4(dim)
        lr = l4.reference
        KL = 20 * K
        lp = {"alpha": 0.01, "beta": 0.01, "eta": 0.02, "gamma1": 0.5, "gamma2": 0.5, "c_lower": 1.0, "p": 0.3,
              "r": 1000.0}
        bud_l = Budget(KL, KL)
        out.append(BenchCase(
            f"lvhba d={dim}",
            lambda l4=l4, lp=lp, bud=bud_l: algorithms.run_lvhba(l4, lp, bud, np.random.default_rng(0)),
            lambda lr=lr, KL=KL: lvhba_numpy(lr["a"], lr["d"], lr["e"], lr["rho"], lr["x0"], lr["y0"], KL, 0.01,
                                             0.01, 0.02, 0.5, 0.5, 1.0, 0.3, 1000.0),
            f"{KL} iterations of LV-HBA on L4 (coupled y <= x), n = {dim}"))
    return out


def ratios(repeat: int = 3) -> list[tuple[str, float, float, float]]:
    """Return (name, numba seconds, numpy seconds, numpy/numba) for every case (best of ``repeat``)."""
    import time

    rows = []
    for case in cases():
        case.run_numba()
        best = []
        for fn in (case.run_numba, case.run_numpy):
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            best.append(min(times))
        rows.append((case.name, best[0], best[1], best[1] / best[0] if best[0] > 0 else math.inf))
    return rows
