"""SEA environments E1 (noisy drifting quadratic) and E3 (nonconvex components, convex mean), with
closed-form sigma_t^2 and Sigma_t^2.

``reference`` holds, computed here from the schedule and never from a learner:

* ``L`` = max q_i (smoothness), ``lam`` = min q_i (strong convexity), ``R``, ``D`` = 2R,
  ``G`` = L (R + ||c||) + s0 >= ||grad f_t(x)|| on the ball (||Q(x - c_t)|| <= L (R + ||c||), ||xi_t|| = s_t <= s0),
  ``alpha`` = lam / G^2 (every f_t is alpha-exp-concave on the ball: Hess f = Q >= lam I >= (lam/G^2) g g^T);
* ``sigma1_sq`` = Sigma_1^2 = sup_{||x|| <= R} ||Q (x - c_1)||^2 (the t = 1 term, grad F_0 = 0), the maximum of a
  convex function over the ball: on the boundary, x = -Q^2 c_1 / (nu - Q^2) with nu > max q_i^2 solving
  ||x|| = R (monotone secular equation, bisection in log(nu - max q^2));
* E3 (``nonconvex`` = kappa_nc > 0): G gains kappa_nc ||v||, sigma_t^2 = kappa_nc^2 ||v||^2, and
  ``min_component_curvature`` = q_d - kappa_nc ||v||^2 (< 0: individual losses are nonconvex);
* ``Qc_sq`` = ||Q c||^2 (a sign flip of the drift adds 4 ||Q c||^2 to Sigma^2);
* ``variation_exponent``: the exponent p with sqrt(sigma^2_{1:T}) + sqrt(Sigma^2_{1:T}) ~ T^p, from the schedule:
  sigma^2_{1:T} = s0^2 T (iid, switching, random sign), s0^2 sum t^-2a (decaying: T^(1-2a) for a < 1/2);
  Sigma^2_{1:T} = Sigma_1^2 + 4 K(T) ||Qc||^2 with K(T) = floor(T^kappa) (switching) or ~ (T-1)/2 sign changes
  (random sign), constant otherwise.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance
from . import oracles


def sup_grad_sq(q: np.ndarray, c: np.ndarray, R: float) -> float:
    """Return sup_{||x|| <= R} ||diag(q) (x - c)||^2 by the secular equation (see module docstring)."""
    q2 = q * q
    top = q2.max()
    if np.allclose(q2, top):  # Q = qI: the farthest point is -R c/||c|| (or any boundary point if c = 0)
        return float(top * (R + np.linalg.norm(c)) ** 2)
    num = q2 * c

    def norm_x(nu):
        return float(np.linalg.norm(num / (nu - q2)))

    candidates = []
    lo, hi = math.log(top * 1e-12), math.log(top + np.linalg.norm(num) / R + 1.0)
    if norm_x(top + math.exp(lo)) > R:
        for _ in range(300):
            mid = 0.5 * (lo + hi)
            if norm_x(top + math.exp(mid)) > R:
                lo = mid
            else:
                hi = mid
        x = -num / (top + math.exp(hi) - q2)
        candidates.append(x * (R / np.linalg.norm(x)))
    else:  # hard case: complete along the top eigendirection(s)
        at_top = np.isclose(q2, top)
        base = np.where(at_top, 0.0, -num / np.where(at_top, 1.0, top - q2))
        fill = math.sqrt(max(R * R - float(base @ base), 0.0))
        for sign in (1.0, -1.0):
            x = base.copy()
            x[np.argmax(at_top)] = sign * fill
            candidates.append(x)
    return float(max(np.sum((q * (x - c)) ** 2) for x in candidates))


def first_center(data: np.ndarray) -> np.ndarray:
    """Return c_1 of the instance by calling its schedule oracle."""
    d = int(data[0])
    c1 = np.zeros(d)
    oracles.schedule(1, data, c1)
    return c1


def build_sea_quadratic(params: dict, rng: np.random.Generator) -> Instance:
    """E1: F_t(x) = 1/2 (x - c_t)^T Q (x - c_t), f_t = F_t + <s_t z_t, x>, Q = diag(q_floor + i^-q_power).

    c = c_norm (1, ..., 1)/sqrt(d) (``c_along`` = "uniform") or c_norm e_1 (the stiffest direction, "stiff";
    then a sign flip changes the gradient by 2 q_1 c_norm); c_norm < R keeps the drift-free optimum
    interior, and a fixed direction keeps ||Q c||, hence the drift's Sigma^2, the same for every seed. The
    random-sign key is drawn from the problem's rng.
    """
    d, R = int(params["d"]), float(params["R"])
    regime = params["regime"]
    s0, a, kappa = float(params["noise"]), float(params["noise_decay"]), float(params["switch_power"])
    q = float(params["q_floor"]) + np.arange(1, d + 1, dtype=float) ** (-float(params["q_power"]))
    if params["c_along"] == "stiff":
        c = np.zeros(d)
        c[0] = float(params["c_norm"])
    else:
        c = float(params["c_norm"]) * np.ones(d) / math.sqrt(d)
    key = int(rng.integers(1, 2**31 - 1))
    kappa_nc, v_norm = float(params["nonconvex"]), float(params["v_norm"])
    v = np.zeros(d)
    v[-1] = v_norm  # along the flattest direction, where the sine term breaks convexity first
    if kappa_nc > 0 and s0 > 0:
        raise ValueError("sea_quadratic: nonconvex > 0 (E3) requires noise = 0: E3's own noise is the sign xi_t")
    data = oracles.pack(q, c, R, regime, s0, a, kappa, key, kappa_nc, v)
    c1 = first_center(data)
    sigma1_sq = sup_grad_sq(q, c1, R)
    L, lam = float(q.max()), float(q.min())
    G = L * (R + float(np.linalg.norm(c))) + s0 + kappa_nc * v_norm
    e_sigma = 0.0 if s0 == 0 else (max(0.0, 0.5 - a) if regime == "decaying" else 0.5)
    if kappa_nc > 0:
        e_sigma = 0.5  # sigma_t^2 = kappa_nc^2 ||v||^2 every round
    e_Sigma = {"iid": 0.0, "decaying": 0.0, "switching": kappa / 2.0, "random_sign": 0.5}[regime]
    ref = {"d": float(d), "R": R, "D": 2.0 * R, "L": L, "lam": lam, "G": G, "alpha": lam / G ** 2,
           "sigma1_sq": sigma1_sq, "Qc_sq": float(np.sum((q * c) ** 2)), "noise": s0,
           "variation_exponent": max(e_sigma, e_Sigma), "q": q, "c": c, "nonconvex": kappa_nc,
           "v_norm": v_norm,
           # most negative curvature of an individual f_t on the ball: q_d - kappa_nc ||v||^2 (at <v, x> = pi/2,
           # reachable when ||v|| R >= pi/2); < 0 means the components are nonconvex
           "min_component_curvature": float(q[-1] - kappa_nc * v_norm ** 2) if v_norm * R >= math.pi / 2
           else float(q[-1] - kappa_nc * v_norm ** 2 * math.sin(v_norm * R)),
           "components_convex": float(kappa_nc == 0 or q[-1] - kappa_nc * v_norm ** 2 >= 0)}
    return Instance(data=data, oracles=oracles.ORACLES, reference=ref, dim=d)
