"""Finite-sum monotone problems with known solutions and independently computed constants.

Every builder returns an :class:`~optsandbox.api.Instance` in the family layout (``oracles.py``) with
``reference`` holding, computed here by dense linear algebra / scipy and never by an algorithm under test:

* ``u0`` (start), ``u_star`` (the solution the iterates converge to), ``D`` = ||u0 - u_star||;
* ``L_F``: Lipschitz constant of F = (1/n) sum F_i (spectral norm of the mean matrix);
* ``L_coco``: cocoercivity constant of F (smallest c with ||F u - F v||^2 <= c <F u - F v, u - v>;
  inf when F is not cocoercive, e.g. skew);
* ``L_avg_coco``: the (A-coco) "on average" constant, smallest L with
  (1/n) sum ||F_i u - F_i v||^2 <= L <F u - F v, u - v> (inf when it does not exist);
* ``L_avg_lip``: the (A-lip) constant, sqrt(lambda_max((1/n) sum M_i^T M_i));
* ``cocoercive`` (1/0), ``constrained`` (1/0), ``n``, ``d``, ``L_growth`` (the exponent of n in L/L_F
  by construction: 0 for similar components, 1 when a fixed number of components carries all the mass).

For linear components these constants are generalized eigenvalues: with Sbar = sym(Mbar), the
cocoercivity constant is lambda_max(Mbar^T Mbar, Sbar) and (A-coco) is lambda_max(mean M_i^T M_i, Sbar),
restricted to range(Sbar) when Sbar is singular (both quadratic forms vanish off it in P1).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg
from scipy.optimize import linprog

from ..api import Instance
from . import oracles


def _orthonormal(rng: np.random.Generator, d: int, r: int) -> np.ndarray:
    """Return a d x r matrix with orthonormal columns (QR of a Gaussian, signs fixed by diag(R) > 0)."""
    Q, R = np.linalg.qr(rng.standard_normal((d, r)))
    return Q * np.sign(np.diag(R))


def _generalized_max(num: np.ndarray, den: np.ndarray, tol: float = 1e-10) -> float:
    """Return max x^T num x / x^T den x over range(den) (den symmetric PSD); inf if num leaks off it."""
    w, V = np.linalg.eigh(0.5 * (den + den.T))
    keep = w > tol * max(w.max(), 1e-300)
    if not keep.any():
        return math.inf
    Vr, Vn = V[:, keep], V[:, ~keep]
    if Vn.size and np.linalg.norm(Vn.T @ num @ Vn) > 1e-9 * max(np.linalg.norm(num), 1e-300):
        return math.inf
    A = Vr.T @ num @ Vr
    B = np.diag(w[keep])
    return float(scipy.linalg.eigh(0.5 * (A + A.T), B, eigvals_only=True)[-1])


def linear_constants(Ms: np.ndarray) -> dict:
    """Return L_F, L_coco, L_avg_coco, L_avg_lip of the affine components u -> Ms[i] u - m_i."""
    Mbar = Ms.mean(axis=0)
    sym = 0.5 * (Mbar + Mbar.T)
    stacked = Ms.reshape(-1, Ms.shape[2])
    second = stacked.T @ stacked / Ms.shape[0]  # mean of M_i^T M_i
    L_coco = _generalized_max(Mbar.T @ Mbar, sym)
    L_avg_coco = _generalized_max(second, sym)
    return {"L_F": float(np.linalg.norm(Mbar, 2)), "L_coco": L_coco, "L_avg_coco": L_avg_coco,
            "L_avg_lip": float(math.sqrt(max(np.linalg.eigvalsh(second)[-1], 0.0))),
            "cocoercive": float(math.isfinite(L_coco))}


def _box_constraint(name: str, box: float, solution: np.ndarray) -> tuple[int, float, float]:
    """Return (constraint, lo, hi): unconstrained for box = 0, else the box [-hi, hi], hi = box max|u*|."""
    if not box > 0:
        return oracles.UNCONSTRAINED, 0.0, 0.0
    if box <= 1.0:
        raise ValueError(f"{name}: box = {box} must be 0 (none) or > 1 (solution strictly inside)")
    hi = box * float(np.max(np.abs(solution)))
    return oracles.BOX, -hi, hi


def _affine_instance(Ms, ms, u0, u_star, constraint, lo, hi, extra) -> Instance:
    data = oracles.pack_affine(Ms, ms, constraint, lo, hi)
    n, d, _ = Ms.shape
    ref = linear_constants(Ms)
    ref.update({"n": float(n), "d": float(d), "u0": u0, "u_star": u_star,
                "D": float(np.linalg.norm(u0 - u_star)), "constrained": float(constraint != 0)})
    ref.update(extra)
    return Instance(data=data, oracles=oracles.ORACLES, reference=ref, dim=d)


def build_coco_lowrank(params: dict, rng: np.random.Generator) -> Instance:
    """P1: F_i(u) = S_i (u - u_c), S_i = U Lambda^1/2 P_i Lambda^1/2 U^T, mean of the S_i = U Lambda U^T.

    P_i = (1 - delta) I + delta Cbar^-1/2 C_i Cbar^-1/2 with C_i = Z_i Z_i^T (rank s), so mean P_i = I.
    ``active_power`` = a < 1 keeps only m = ceil(n^a) nonzero components (scaled by n / m; s is raised to
    ceil(r/m) if needed): dissimilar components whose (A-coco) constant grows like n^(1-a) L_F.
    U and u_c are drawn before the components, so for a given seed they do
    not depend on n (a sweep over n changes only the split of the same F). Start u_0 = 0; the iterates
    stay in u_0 + range(U), so they converge to u* = u_c + (I - U U^T)(u_0 - u_c).
    """
    n, d, r, s = int(params["n"]), int(params["d"]), int(params["r"]), int(params["s"])
    delta, power, box = float(params["delta"]), float(params["active_power"]), float(params["box"])
    if r > d:
        raise ValueError(f"coco_lowrank: r = {r} must be <= d = {d}")
    if not 0.0 <= delta <= 1.0:
        raise ValueError(f"coco_lowrank: delta = {delta} must lie in [0, 1]")
    if not 0.0 <= power <= 1.0:
        raise ValueError(f"coco_lowrank: active_power = {power} must lie in [0, 1]")
    m = min(n, int(math.ceil(n ** power - 1e-9)))
    s = max(s, -(-r // m))  # the active C_i must span R^r for Cbar to be invertible
    if m * s < r:
        raise ValueError(f"coco_lowrank: n * s = {m * s} must be >= r = {r}")
    U = _orthonormal(rng, d, r)
    u_c = rng.standard_normal(d)
    lam = np.logspace(math.log10(params["l_min"]), math.log10(params["l_max"]), r)[::-1]
    Z = rng.standard_normal((m, r, s))
    C = np.einsum("iab,icb->iac", Z, Z)
    w, V = np.linalg.eigh(C.mean(axis=0))
    c_inv_half = (V / np.sqrt(w)) @ V.T
    P = (1.0 - delta) * np.eye(r) + delta * (c_inv_half[None] @ C @ c_inv_half[None])
    root = np.sqrt(lam)
    B = root[None, :, None] * P * root[None, None, :]
    Ms = np.zeros((n, d, d))
    Ms[:m] = (n / m) * (U[None] @ B @ U.T[None])
    ms = Ms @ u_c
    u0 = np.zeros(d)
    u_star = u_c + (u0 - u_c) - U @ (U.T @ (u0 - u_c))
    constraint, lo, hi = _box_constraint("coco_lowrank", box, u_star)
    return _affine_instance(Ms, ms, u0, u_star, constraint, lo, hi,
                            {"L_growth": 1.0 - power, "active": float(m), "l_min": float(lam.min())})


def build_bilinear_sum(params: dict, rng: np.random.Generator) -> Instance:
    """P2: f_i(x, y) = 1/2 x'P_i x + x'A_i y - 1/2 y'R_i y around (x_c, y_c), A_i = A + delta N_i.

    F_i(u) = J_i (u - u_c), J_i = [[P_i, A_i], [-A_i^T, R_i]]; sum_i N_i = 0, so the mean is
    [[Pbar, A], [-A^T, Rbar]], monotone; skew (not cocoercive) when ``quad`` = 0. A has singular values
    log-spaced in [sv_min, sv_max], hence nonsingular: u_c is the unique solution. Start u_0 = 0.
    """
    n, m = int(params["n"]), int(params["m"])
    delta, quad, box = float(params["delta"]), float(params["quad"]), float(params["box"])
    Ua = _orthonormal(rng, m, m)
    Va = _orthonormal(rng, m, m)
    sv = np.logspace(math.log10(params["sv_min"]), math.log10(params["sv_max"]), m)
    A = (Ua * sv) @ Va.T
    u_c = rng.standard_normal(2 * m)
    N = rng.standard_normal((n, m, m)) / math.sqrt(m)
    N -= N.mean(axis=0)
    Ms = np.zeros((n, 2 * m, 2 * m))
    Ms[:, :m, m:] = A + delta * N
    Ms[:, m:, :m] = -np.transpose(A + delta * N, (0, 2, 1))
    if quad > 0:
        for block in (slice(0, m), slice(m, 2 * m)):
            G = rng.standard_normal((n, m, 2))
            Ms[:, block, block] = quad * np.einsum("iab,icb->iac", G, G) / m
    ms = Ms @ u_c
    u0 = np.zeros(2 * m)
    constraint, lo, hi = _box_constraint("bilinear_sum", box, u_c)
    return _affine_instance(Ms, ms, u0, u_c.copy(), constraint, lo, hi, {"L_growth": 0.0})


def game_matrix(m: int, theta: float, rng: np.random.Generator) -> np.ndarray:
    """Return the policeman-burglar matrix A_ij = w_j (1 - exp(-theta |i - j|)), w_j = |N(0, 1)|."""
    w = np.abs(rng.standard_normal(m))
    idx = np.arange(m)
    return w[None, :] * (1.0 - np.exp(-theta * np.abs(idx[:, None] - idx[None, :])))


def solve_game(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (x*, y*, value) of min_{x in simplex} max_{y in simplex} y^T A x by two linear programs."""
    m = A.shape[0]
    # x-player: min t s.t. A x <= t 1, sum x = 1, x >= 0.
    c = np.zeros(m + 1)
    c[-1] = 1.0
    res_x = linprog(c, A_ub=np.hstack([A, -np.ones((m, 1))]), b_ub=np.zeros(m),
                    A_eq=np.hstack([np.ones((1, m)), [[0.0]]]), b_eq=[1.0],
                    bounds=[(0, None)] * m + [(None, None)], method="highs")
    # y-player: max s s.t. A^T y >= s 1, sum y = 1, y >= 0.
    res_y = linprog(-c, A_ub=np.hstack([-A.T, np.ones((m, 1))]), b_ub=np.zeros(m),
                    A_eq=np.hstack([np.ones((1, m)), [[0.0]]]), b_eq=[1.0],
                    bounds=[(0, None)] * m + [(None, None)], method="highs")
    if res_x.status != 0 or res_y.status != 0:
        raise RuntimeError(f"matrix_game: linear program failed ({res_x.message}; {res_y.message})")
    return res_x.x[:m], res_y.x[:m], float(res_x.x[-1])


def build_matrix_game(params: dict, rng: np.random.Generator) -> Instance:
    """The authors' policeman-burglar game on Delta_m x Delta_m, split over coordinates (n = m).

    F(x, y) = (A^T y, -A x), G = normal cone of the product of simplices; F is monotone (skew) and not
    cocoercive, the F_i are not even monotone. Solution by linear programming (scipy HiGHS); D is the
    distance from the uniform start to that LP solution (an upper bound on the distance to the solution set
    when it is not a single point).
    """
    m = int(params["m"])
    A = game_matrix(m, float(params["theta"]), rng)
    x_star, y_star, value = solve_game(A)
    u0 = np.full(2 * m, 1.0 / m)
    u_star = np.concatenate([x_star, y_star])
    fro = float(np.linalg.norm(A))
    ref = {"n": float(m), "d": float(2 * m), "u0": u0, "u_star": u_star,
           "D": float(np.linalg.norm(u0 - u_star)), "L_F": float(np.linalg.norm(A, 2)),
           "L_coco": math.inf, "L_avg_coco": math.inf,
           # (1/n) sum ||F_i u||^2 = n sum_i (y_i^2 ||A_i:||^2 + x_i^2 ||A_:i||^2) <= n max col/row norm^2
           "L_avg_lip": float(math.sqrt(m) * max(np.linalg.norm(A, axis=0).max(),
                                                 np.linalg.norm(A, axis=1).max())),
           "A_fro": fro, "value": value, "cocoercive": 0.0, "constrained": 1.0, "L_growth": 0.0}
    return Instance(data=oracles.pack_game(A), oracles=oracles.ORACLES, reference=ref, dim=2 * m)
