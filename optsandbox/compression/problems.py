"""Heterogeneous multi-client problems with independently computed reference answers.

* ``hetero_quadratic`` (EC-1b): f_i(x) = 1/2 x^T H x - b_i^T x with H = U diag(lambda) U^T (U a random
  orthogonal basis, lambda log-spaced in [mu, L]) and b_i = b + zeta u_i, sum_i u_i = 0,
  (1/n) sum ||u_i||^2 = 1. f does not depend on n or zeta; grad f_i(x*) = -zeta u_i, so
  zeta_bar^2 = (1/n) sum ||grad f_i(x*)||^2 = zeta^2. x* by ``numpy.linalg.solve`` (H x = b).
  With ``planted = true`` the optimum is drawn first, x* ~ N(0, I), and b = H x*: then x_0 - x* has
  equal weight on every eigenvector, which makes the convex-regime decay 1/t visible when mu is tiny.
* ``koloskova_quadratic`` (EC-1a): f_i(x) = 1/2 ||A_i x - b_i||^2 with A_i = (i/sqrt n) I and
  b_i ~ N(0, (zeta^2/i^2) I); x* solves (sum_i A_i^T A_i) x = sum_i A_i^T b_i. Isotropic, L_i = i^2/n.
* ``cgd_counterexample``: Beznosikov, Horvath, Richtarik, Safaryan (2020), Example 1, n = d = 3:
  f_i(x) = <a_i, x>^2 + ||x||^2/2 - (eps/2) x_i^2 with a_1 = (-3, 2, 2), a_2 = (2, -3, 2), a_3 = (2, 2, -3),
  x_0 = t (1, 1, 1). At every x = s (1, 1, 1), grad f_i = s (2 a_i + 1 - eps e_i) has its largest entry
  -(5 + eps) s at coordinate i (eps > 0 breaks the paper's three-way tie in favour of the entry the
  example needs), so top-1 compressed GD moves x to (1 + gamma (5 + eps)/3) x: it diverges for every
  gamma > 0, although f is strongly convex with x* = 0 and zeta = 0 (grad f_i(x*) = 0).
* ``hetero_logistic`` (EC-2): logistic loss plus the nonconvex regulariser lam sum x_k^2/(1 + x_k^2) on
  Gaussian data labelled by a planted model with flips, sorted by label and split into clients of
  unequal sizes m_i proportional to i^imbalance (i = 1..n): heterogeneous in both labels and sizes.
  f_ref is a stationary value found by scipy's L-BFGS (gradient norm checked); no f* is needed since the
  nonconvex bounds speak of the gradient norm.

Reference facts: x_star, f_star (quadratics), L (smoothness of f), L_tilde = sqrt(mean L_i^2), mu (strong
convexity, 0 if none is used), zeta_sq (realised heterogeneity), h_star (the clients' gradients at x*),
f_gap0 = f(x_0) - f*, R0_sq = ||x_0 - x*||^2, x0 when the start is not 0, and convex = 0.0 for the nonconvex
EC-2 (absent means convex: the theory then states no f - f* bound for EC-2).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ..api import Instance
from . import oracles


def _common(params: dict) -> dict:
    """Reference entries every problem carries: the oracle noise level and the regime the theory uses."""
    return {"sigma": float(params["sigma"]), "use_mu": 1.0 if params.get("use_mu", True) else 0.0}


def _quadratic_instance(H, c, B, mu, L_f, L_tilde, params) -> Instance:
    n, d = B.shape
    Hbar = float(np.mean(c)) * H
    x_star = np.linalg.solve(Hbar, B.mean(axis=0))
    h_star = c[:, None] * (H @ x_star)[None, :] - B  # grad f_i(x*)
    f = lambda x: 0.5 * x @ Hbar @ x - B.mean(axis=0) @ x  # noqa: E731
    f_star = float(f(x_star))
    x0 = np.zeros(d)
    reference = {
        "x_star": x_star, "h_star": h_star, "f_star": f_star, "f_gap0": float(f(x0) - f_star),
        "R0_sq": float(x_star @ x_star), "L": float(L_f), "L_tilde": float(L_tilde), "mu": float(mu),
        "zeta_sq": float(np.mean(np.sum(h_star ** 2, axis=1))), "n_clients": float(n), "d": float(d),
        "gap_exact": 1.0, **_common(params),
    }
    data = oracles.pack_quadratic(H, c, B, x_star)
    return Instance(data=data, oracles=oracles.QUADRATIC_ORACLES, reference=reference, dim=d)


def build_hetero_quadratic(params: dict, rng: np.random.Generator) -> Instance:
    n, d = int(params["n"]), int(params["d"])
    L, kappa, zeta = float(params["L"]), float(params["condition"]), float(params["zeta"])
    mu = L / kappa
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.logspace(np.log10(mu), np.log10(L), d)
    H = (U * lam) @ U.T
    H = 0.5 * (H + H.T)
    if params["planted"]:
        b = H @ rng.standard_normal(d)
    else:
        b = rng.standard_normal(d)
    u = rng.standard_normal((n, d))
    if n > 1:
        u -= u.mean(axis=0)
        u /= np.sqrt(np.mean(np.sum(u ** 2, axis=1)))
    else:
        u[:] = 0.0  # one client: no heterogeneity is possible
    B = b[None, :] + zeta * u
    c = np.ones(n)
    return _quadratic_instance(H, c, B, mu, L, L, params)


def build_koloskova_quadratic(params: dict, rng: np.random.Generator) -> Instance:
    n, d, zeta = int(params["n"]), int(params["d"]), float(params["zeta"])
    i = np.arange(1, n + 1, dtype=float)
    c = i ** 2 / n  # A_i^T A_i = (i^2/n) I
    raw = rng.standard_normal((n, d)) * (zeta / i)[:, None]
    B = (i / np.sqrt(n))[:, None] * raw  # A_i^T b_i
    L_f = float(np.mean(c))
    return _quadratic_instance(np.eye(d), c, B, L_f, L_f, float(np.sqrt(np.mean(c ** 2))), params)


def build_cgd_counterexample(params: dict, rng: np.random.Generator) -> Instance:
    eps, t = float(params["eps"]), float(params["t"])
    a = np.array([[-3.0, 2.0, 2.0], [2.0, -3.0, 2.0], [2.0, 2.0, -3.0]])
    Hs = np.array([2.0 * np.outer(ai, ai) + np.eye(3) - eps * np.diag(np.eye(3)[i]) for i, ai in enumerate(a)])
    B = np.zeros((3, 3))
    Hbar = Hs.mean(axis=0)
    x_star = np.linalg.solve(Hbar, B.mean(axis=0))
    x0 = np.full(3, t)
    lam = np.linalg.eigvalsh(Hbar)
    L_i = np.array([np.linalg.eigvalsh(H)[-1] for H in Hs])
    h_star = np.einsum("ijk,k->ij", Hs, x_star) - B
    diff = x0 - x_star
    reference = {"x_star": x_star, "h_star": h_star, "x0": x0, "f_star": 0.0,
                 "f_gap0": float(0.5 * diff @ Hbar @ diff), "R0_sq": float(diff @ diff), "L": float(lam[-1]),
                 "L_tilde": float(np.sqrt(np.mean(L_i ** 2))), "mu": float(lam[0]),
                 "zeta_sq": float(np.mean(np.sum(h_star ** 2, axis=1))), "n_clients": 3.0, "d": 3.0,
                 "gap_exact": 1.0, **_common(params)}
    return Instance(data=oracles.pack_general_quadratic(Hs, B, x_star),
                    oracles=oracles.GENERAL_QUADRATIC_ORACLES, reference=reference, dim=3)


def logistic_numpy(x: np.ndarray, Z: np.ndarray, offsets: np.ndarray, lam: float):
    """Return (f(x), grad f(x), local gradients) in plain NumPy: the independent implementation."""
    n = len(offsets) - 1
    G = np.empty((n, Z.shape[1]))
    f = 0.0
    for i in range(n):
        Zi = Z[offsets[i]:offsets[i + 1]]
        z = Zi @ x
        f += np.mean(np.logaddexp(0.0, -z))
        G[i] = -(Zi.T @ (0.5 * (1.0 - np.tanh(z / 2.0)))) / len(Zi)
    reg_grad = 2.0 * lam * x / (1.0 + x ** 2) ** 2
    G += reg_grad[None, :]
    f = f / n + lam * np.sum(x ** 2 / (1.0 + x ** 2))
    return f, G.mean(axis=0), G


def build_hetero_logistic(params: dict, rng: np.random.Generator) -> Instance:
    n, d, m = int(params["n"]), int(params["d"]), int(params["m"])
    lam, flip, power = float(params["lam"]), float(params["flip"]), float(params["imbalance"])
    total = n * m
    A = rng.standard_normal((total, d)) / np.sqrt(d)
    w = rng.standard_normal(d) * 3.0
    y = np.sign(A @ w + 1e-12)
    y[rng.random(total) < flip] *= -1.0
    order = np.argsort(y, kind="stable")  # sorted by label: clients see mostly one class
    Z = (y[:, None] * A)[order]
    weights = np.arange(1, n + 1, dtype=float) ** power
    sizes = np.maximum(2, np.floor(weights / weights.sum() * total)).astype(int)
    sizes[-1] = total - sizes[:-1].sum()
    if sizes[-1] < 2:
        raise ValueError("hetero_logistic: too few samples for the requested imbalance")
    offsets = np.concatenate([[0], np.cumsum(sizes)])

    def fun(x):
        f, g, _ = logistic_numpy(x, Z, offsets, lam)
        return f, g

    sol = minimize(fun, np.zeros(d), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 5000})
    f_ref = float(sol.fun)
    L_i = np.array([np.linalg.eigvalsh(Z[offsets[i]:offsets[i + 1]].T @ Z[offsets[i]:offsets[i + 1]])[-1]
                    / (4.0 * sizes[i]) + 2.0 * lam for i in range(n)])
    # f is the mean of the f_i, so L <= mean L_i; a sharper bound from the averaged data Hessian:
    S = sum(Z[offsets[i]:offsets[i + 1]].T @ Z[offsets[i]:offsets[i + 1]] / sizes[i] for i in range(n)) / n
    L_f = float(np.linalg.eigvalsh(S)[-1] / 4.0 + 2.0 * lam)
    f0, g0, _ = logistic_numpy(np.zeros(d), Z, offsets, lam)
    reference = {
        "f_ref": f_ref, "x_ref": sol.x, "grad_norm_ref": float(np.linalg.norm(fun(sol.x)[1])),
        "f_gap0": float(f0 - f_ref), "F0": float(f0),  # f >= 0, so f(x_0) - inf f <= f(x_0)
        "L": L_f, "L_tilde": float(np.sqrt(np.mean(L_i ** 2))), "mu": 0.0, "n_clients": float(n),
        "d": float(d), "gap_exact": 0.0, "convex": 0.0, "min_client_size": float(sizes.min()),
        "max_client_size": float(sizes.max()), **_common(params),
    }
    data = oracles.pack_logistic(Z, offsets, lam, f_ref)
    return Instance(data=data, oracles=oracles.LOGISTIC_ORACLES, reference=reference, dim=d)
