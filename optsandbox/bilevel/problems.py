"""Synthetic bilevel problems with references computed independently of every algorithm under test.

Each builder returns an :class:`~optsandbox.api.Instance` (data layout in :mod:`.oracles`) whose
``reference`` holds the problem kind, the constants (mu, L_g, ...), the start point and the known answer,
plus the matrices that :func:`metrics` needs. :func:`metrics` evaluates, in plain NumPy and vectorized
over record rows, the exact quantities the bounds speak of: hypergradient norm, value gap, lower-level
distance, distance to the solution. It is never counted as an oracle call.

* ``quadratic`` -- g = y^T A y / 2 - y^T B x (A with spectrum linspace(mu, L_g)), f = rho |x|^2 / 2 +
  |y - b|^2 / 2. y*(x) = P x with P = A^{-1} B; Phi(x) = rho |x|^2/2 + |P x - b|^2/2 is a strongly convex
  quadratic, x* = (rho I + P^T P)^{-1} P^T b (one linear solve).
* ``quartic_logcosh`` (S1, spec 2.5) -- same g, f = sum x_i^4 / 4 + sum log cosh(y_j - b_j): Phi is
  (L0, L1)-smooth but not L-smooth; x* by damped Newton on grad Phi = 0 (Phi strictly convex), checked
  to |grad Phi(x*)| < 1e-10.
* ``rank_deficient`` (K1, spec 3.5) -- g = |M y - N x|^2 / 2 with rank M < d_y (non-singleton S(x)),
  f = |y - c - E x|^2/2 + |x - d|^2/2: psi, psi_sigma, their gradients, x*_psi and the selection point
  x_sel of AID/SOBA all in closed form via the pseudo-inverse of M.
* ``coupled_inequality`` (L4, spec 4.5) -- g = |y - a|^2/2 with the coupled constraint y <= x,
  f = |y - d|^2/2 + rho |x - e|^2/2: y*(x) = min(a, x); x* per coordinate from the two branches; half of
  the coordinates have the constraint active at the solution.
* ``coupled_equality`` (L1) -- the LV-HBA repository's LLC toy: one coupled equality, lower level not
  strongly convex (S(x) non-singleton); the optimistic solution from the KKT system of a convex QP.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance
from . import oracles


def _noise(params) -> tuple:
    s = float(params["noise"])
    return (s, s, s)


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def log_cosh(u):
    """Return log cosh(u) without overflow: |u| + log1p(exp(-2|u|)) - log 2."""
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


# ---------------------------------------------------------------------------------------------------
# quadratic and quartic_logcosh


def _sq_common(params, rng, kind):
    dx, dy = int(params["d_x"]), int(params["d_y"])
    mu, L = float(params["mu"]), float(params["L_g"])
    Q = _orthogonal(rng, dy)
    A = (Q * np.linspace(mu, L, dy)) @ Q.T
    A = 0.5 * (A + A.T)
    B = rng.standard_normal((dy, dx)) / np.sqrt(dx)
    b = rng.standard_normal(dy)
    rho = float(params.get("rho", 1.0))
    P = np.linalg.solve(A, B)
    x0 = np.full(dx, float(params["x_start"]))
    y0 = np.full(dy, float(params["y_start"]))
    ref = {"kind": kind, "mu": mu, "L_g": L, "kappa": L / mu, "d_x": float(dx), "d_y": float(dy),
           "rho": rho, "A": A, "B": B, "b": b, "P": P, "A_inv": np.linalg.inv(A), "x0": x0, "y0": y0}
    data = oracles.pack(dx, dy, 0, _noise(params), False, [A, B, B.T, b, [rho]])
    return Instance(data=data, oracles=oracles.oracle_set(kind), reference=ref, dim=dx), P, b, rho


def sq_hypergradient(ref, X):
    """Return grad Phi at the rows of X (closed form through y*(x) = P x)."""
    P, b = ref["P"], ref["b"]
    Ys = X @ P.T
    if ref["kind"] == "quadratic":
        return ref["rho"] * X + (Ys - ref["b"]) @ P
    return X ** 3 + np.tanh(Ys - b) @ P


def sq_value(ref, X):
    """Return Phi at the rows of X."""
    Ys = X @ ref["P"].T
    if ref["kind"] == "quadratic":
        return 0.5 * ref["rho"] * np.sum(X * X, axis=1) + 0.5 * np.sum((Ys - ref["b"]) ** 2, axis=1)
    return 0.25 * np.sum(X ** 4, axis=1) + np.sum(log_cosh(Ys - ref["b"]), axis=1)


def _newton_quartic(P, b, dx):
    """Return the minimizer of Phi(x) = sum x^4/4 + sum log cosh(P x - b) by damped Newton."""
    ref = {"kind": "quartic_logcosh", "P": P, "b": b}
    x = np.zeros(dx)
    for _ in range(200):
        g = sq_hypergradient(ref, x[None, :])[0]
        if np.linalg.norm(g) < 1e-13:
            break
        t = np.exp(-2.0 * np.abs(P @ x - b))
        sech2 = 4.0 * t / (1.0 + t) ** 2  # sech^2 u, without the overflow of cosh u for |u| > 710
        H = np.diag(3.0 * x ** 2) + P.T @ (sech2[:, None] * P)
        step = np.linalg.solve(H, g)
        t, f0 = 1.0, sq_value(ref, x[None, :])[0]
        # Armijo backtracking far from x*; near x* the decrease of Phi is below its rounding, so the full
        # Newton step (quadratically convergent there) is taken once |grad Phi| < 1e-6.
        while (np.linalg.norm(g) > 1e-6 and t > 1e-12
               and sq_value(ref, (x - t * step)[None, :])[0] > f0 - 1e-4 * t * (g @ step)):
            t *= 0.5
        x = x - t * step
    g = sq_hypergradient(ref, x[None, :])[0]
    if np.linalg.norm(g) > 1e-10:
        raise RuntimeError(f"Newton on S1 did not converge: |grad Phi| = {np.linalg.norm(g):.3g}")
    return x


def _finish_sq(inst, x_star):
    ref = inst.reference
    ref["x_star"] = x_star
    ref["phi_star"] = float(sq_value(ref, x_star[None, :])[0])
    ref["D0"] = float(np.linalg.norm(ref["x0"] - x_star))
    ref["hypergrad_norm0"] = float(np.linalg.norm(sq_hypergradient(ref, ref["x0"][None, :])[0]))
    return inst


def build_quadratic(params: dict, rng: np.random.Generator) -> Instance:
    """Quadratic lower and upper levels; x* from one linear solve of grad Phi(x) = 0."""
    inst, P, b, rho = _sq_common(params, rng, "quadratic")
    x_star = np.linalg.solve(rho * np.eye(P.shape[1]) + P.T @ P, P.T @ b)
    inst.reference["L_phi"] = float(rho + np.linalg.norm(P, 2) ** 2)
    return _finish_sq(inst, x_star)


def build_quartic_logcosh(params: dict, rng: np.random.Generator) -> Instance:
    """S1: quadratic strongly convex lower level, quartic + log cosh upper level ((L0, L1)-smooth Phi)."""
    inst, P, b, _ = _sq_common(params, rng, "quartic_logcosh")
    return _finish_sq(inst, _newton_quartic(P, b, P.shape[1]))


# ---------------------------------------------------------------------------------------------------
# rank_deficient (K1)


def build_rank_deficient(params: dict, rng: np.random.Generator) -> Instance:
    """K1: rank-deficient least-squares lower level; every penalty object in closed form (spec 3.5)."""
    dx, dy, m, r = int(params["d_x"]), int(params["d_y"]), int(params["m"]), int(params["rank"])
    if not r <= min(m, dy):
        raise ValueError(f"rank_deficient: rank = {r} must be <= min(m, d_y) = {min(m, dy)}")
    mu, L = float(params["mu"]), float(params["L_g"])
    U, _ = np.linalg.qr(rng.standard_normal((m, r)))
    V, _ = np.linalg.qr(rng.standard_normal((dy, r)))
    s = np.sqrt(np.logspace(np.log10(mu), np.log10(L), r))[::-1]
    M = (U * s) @ V.T
    N = rng.standard_normal((m, dx)) / np.sqrt(dx)
    E = float(params["coupling"]) * rng.standard_normal((dy, dx)) / np.sqrt(dx)
    c = rng.standard_normal(dy)
    d = rng.standard_normal(dx)
    box = float(params["box"])
    Mp = np.linalg.pinv(M)
    PR = Mp @ M
    J = Mp @ N - PR @ E
    x_star = np.linalg.solve(np.eye(dx) + J.T @ J, d + J.T @ (PR @ c))
    # AID/SOBA's selection: GD on g from y0 never moves the ker M part of y (spec 3.5).
    y0 = np.full(dy, float(params["y_start"]))
    Pk = np.eye(dy) - PR
    # grad Phi_sel(x) = grad psi(x) - E^T Pk (y0 - c - E x) = 0
    x_sel = np.linalg.solve(np.eye(dx) + J.T @ J + E.T @ Pk @ E, d + J.T @ (PR @ c) + E.T @ Pk @ (y0 - c))
    ref = {"kind": "rank_deficient", "mu": mu, "L_g": L, "kappa": L / mu, "d_x": float(dx), "d_y": float(dy),
           "M": M, "N": N, "E": E, "c": c, "d": d, "M_pinv": Mp, "P_R": PR, "J": J,
           "x_star": x_star, "x_sel": x_sel, "selection_offset": float(np.linalg.norm(x_sel - x_star)),
           "x0": np.full(dx, float(params["x_start"])), "y0": y0,
           "L_psi": float(1.0 + np.linalg.norm(J, 2) ** 2), "l_f1": 1.0}
    ref["psi_star"] = float(k1_psi(ref, x_star[None, :])[0])
    # |grad psi_sigma - grad psi| ~ sigma C_grad near x*_psi, C_grad = |J^T (M^T M)^+ a(x*)| (spec 3.4)
    ref["C_grad"] = float(np.linalg.norm(J.T @ (np.linalg.pinv(M.T @ M) @ k1_a(ref, x_star[None, :])[0])))
    ref["D0"] = float(np.linalg.norm(ref["x0"] - x_star))
    data = oracles.pack(dx, dy, 0, _noise(params), False, [M, N, E, c, d, [box, m]])
    return Instance(data=data, oracles=oracles.oracle_set("rank_deficient"), reference=ref, dim=dx)


def k1_a(ref, X):
    """Return a(x) = M^+ N x - P_R (c + E x) at the rows of X."""
    return X @ ref["J"].T - ref["P_R"] @ ref["c"]


def k1_psi(ref, X):
    """Return psi(x) = |x - d|^2 / 2 + |a(x)|^2 / 2 (optimistic hyper-objective)."""
    a = k1_a(ref, X)
    return 0.5 * np.sum((X - ref["d"]) ** 2, axis=1) + 0.5 * np.sum(a * a, axis=1)


def k1_grad_psi(ref, X):
    """Return grad psi(x) = (x - d) + J^T a(x)."""
    return (X - ref["d"]) + k1_a(ref, X) @ ref["J"]


def k1_penalty_gaps(ref, X, sigma):
    """Return (psi - psi_sigma, |grad psi_sigma - grad psi|) at the rows of X, closed form (spec 3.5).

    psi_sigma = psi - (sigma/2) a^T W a and grad psi_sigma = grad psi - sigma J^T W a, W = (M^T M + sigma I)^-1.
    """
    M = ref["M"]
    W = np.linalg.inv(M.T @ M + sigma * np.eye(M.shape[1]))
    a = k1_a(ref, X)
    Wa = a @ W
    value = 0.5 * sigma * np.sum(a * Wa, axis=1)
    grad = sigma * np.linalg.norm(Wa @ ref["J"], axis=1)
    return value, grad


def k1_y_sigma(ref, X, sigma):
    """Return y_sigma(x) = (M^T M + sigma I)^-1 (sigma (c + E x) + M^T N x) at the rows of X."""
    M, N, E, c = ref["M"], ref["N"], ref["E"], ref["c"]
    W = np.linalg.inv(M.T @ M + sigma * np.eye(M.shape[1]))
    return (sigma * (c + X @ E.T) + X @ (M.T @ N).T) @ W


def k1_set_distance(ref, X, Z):
    """Return dist(z, S(x)) = |P_R z - M^+ N x| at the rows (S(x) = M^+ N x + ker M)."""
    return np.linalg.norm(Z @ ref["P_R"] - X @ (ref["M_pinv"] @ ref["N"]).T, axis=1)


# ---------------------------------------------------------------------------------------------------
# coupled_inequality (L4)


def build_coupled_inequality(params: dict, rng: np.random.Generator) -> Instance:
    """L4: coupled inequality y <= x, half of the constraints active at the solution (spec 4.5)."""
    n = int(params["n"])
    rho = float(params["rho"])
    a = rng.uniform(-1.0, 1.0, n)
    active = np.zeros(n, dtype=bool)
    active[: n // 2] = True
    rng.shuffle(active)
    d = np.where(active, a - 1.0, a + 1.0)
    e = np.where(active, a - 0.5, a + 0.5)
    x_star = l4_solution(a, d, e, rho)
    y_star = np.minimum(a, x_star)
    if np.any(np.abs(x_star - a) < 1e-6):
        raise ValueError("coupled_inequality: a solution coordinate sits at the kink x_i = a_i")
    ref = {"kind": "coupled_inequality", "a": a, "d": d, "e": e, "rho": rho, "x_star": x_star,
           "y_star": y_star, "active": active.astype(float), "n_active": float(active.sum()),
           "rho_g": 0.0, "L_f": max(1.0, rho), "L_g": 1.0,
           "x0": np.full(n, float(params["x_start"])), "y0": np.full(n, float(params["y_start"]))}
    ref["phi_star"] = float(l4_phi(ref, x_star[None, :])[0])
    data = oracles.pack(n, n, n, _noise(params), False, [a, d, e, [rho]])
    return Instance(data=data, oracles=oracles.oracle_set("coupled_inequality"), reference=ref, dim=n)


def l4_solution(a, d, e, rho):
    """Return x* coordinatewise: the better of the branch x >= a (y* = a) and x <= a (y* = x)."""
    up = np.maximum(a, e)  # minimizes rho (x - e)^2 / 2 over x >= a
    low = np.minimum(a, (d + rho * e) / (1.0 + rho))  # minimizes (x - d)^2/2 + rho (x - e)^2/2 over x <= a

    def phi(x):
        return 0.5 * (np.minimum(a, x) - d) ** 2 + 0.5 * rho * (x - e) ** 2

    return np.where(phi(up) <= phi(low), up, low)


def l4_phi(ref, X):
    """Return Phi(x) = sum_i (min(a_i, x_i) - d_i)^2 / 2 + rho (x_i - e_i)^2 / 2."""
    a, d, e, rho = ref["a"], ref["d"], ref["e"], ref["rho"]
    return np.sum(0.5 * (np.minimum(a, X) - d) ** 2 + 0.5 * rho * (X - e) ** 2, axis=1)


def l4_inner_saddle(ref, X, Y, Z, gamma1, gamma2, r):
    """Return (theta*, lam*) of the proximal inner saddle problem of LV-HBA at the rows of (X, Y, Z).

    lam(theta) = clip(z + gamma2 (theta - x), 0, r); theta* is the root of the increasing piecewise-linear
    map (theta - a) + lam(theta) + (theta - y)/gamma1: solve the middle piece, and fall back to the lam = 0
    (or lam = r) piece when the middle solution's multiplier leaves [0, r].
    """
    a = ref["a"]
    k = 1.0 / gamma1
    theta = (a - Z + gamma2 * X + k * Y) / (1.0 + gamma2 + k)
    lam = Z + gamma2 * (theta - X)
    low = lam < 0.0
    high = lam > r
    theta = np.where(low, (a + k * Y) / (1.0 + k), theta)
    theta = np.where(high, (a - r + k * Y) / (1.0 + k), theta)
    lam = np.clip(Z + gamma2 * (theta - X), 0.0, r)
    return theta, lam


def l4_value_function(ref, X, Y, Z, gamma1, gamma2, r):
    """Return v_gamma(x, y, z) and the saddle point (theta*, lam*)."""
    th, lam = l4_inner_saddle(ref, X, Y, Z, gamma1, gamma2, r)
    v = (0.5 * (th - ref["a"]) ** 2 + lam * (th - X) + (th - Y) ** 2 / (2 * gamma1)
         - (lam - Z) ** 2 / (2 * gamma2))
    return np.sum(v, axis=1), th, lam


def l4_kkt_residual(ref, X, Y, Z, ck, gamma1, gamma2, r):
    """Return dist(0, G_k(w) + N_{C x Z}(w)) with G_k = grad f + c_k grad (g - v_gamma) (spec 4.4, L4)."""
    _, th, lam = l4_value_function(ref, X, Y, Z, gamma1, gamma2, r)
    ck = np.asarray(ck, dtype=float)[:, None]
    Gx = ref["rho"] * (X - ref["e"]) + ck * lam
    Gy = (Y - ref["d"]) + ck * ((Y - ref["a"]) - (Y - th) / gamma1)
    Gz = ck * (Z - lam) / gamma2
    active = Y >= X - 1e-12
    t = np.maximum(0.0, 0.5 * (Gx - Gy))
    pair = np.where(active, (Gx - t) ** 2 + (Gy + t) ** 2, Gx ** 2 + Gy ** 2)
    zr = np.where(Z <= 1e-12, np.maximum(-Gz, 0.0), np.where(Z >= r - 1e-12, np.maximum(Gz, 0.0), np.abs(Gz)))
    return np.sqrt(np.sum(pair, axis=1) + np.sum(zr ** 2, axis=1))


# ---------------------------------------------------------------------------------------------------
# coupled_equality (L1)


def build_coupled_equality(params: dict, rng: np.random.Generator) -> Instance:
    """L1 (the LV-HBA repository's LLC toy): one coupled equality, non-singleton lower level (spec 4.5).

    For fixed x the LL KKT conditions give y1 = x + 1 (multiplier -1) and leave y2 free on the hyperplane
    1^T y2 = -2 1^T x - n, so S(x) is not a singleton. The optimistic problem is then a convex QP in
    (x, y1, y2) with linear equality constraints y1 - x = 1 and 1^T (x, y1, y2) = 0, solved here from its
    KKT linear system (the tests compare with the symmetric closed form x* = -0.3, y1* = 0.7, y2* = -0.4).
    """
    n = int(params["n"])
    I, O = np.eye(n), np.zeros((n, n))
    H = np.block([[I, O, -I], [O, I, O], [-I, O, I]])
    Acon = np.vstack([np.hstack([-I, I, O]), np.ones((1, 3 * n))])
    rhs = np.concatenate([np.zeros(3 * n), np.ones(n), [0.0]])
    # f = |x - y2|^2/2 + |y1 - 1|^2/2 has linear term -1^T y1
    rhs[n:2 * n] = 1.0
    kkt = np.block([[H, Acon.T], [Acon, np.zeros((n + 1, n + 1))]])
    sol = np.linalg.solve(kkt, rhs)
    if np.linalg.norm(kkt @ sol - rhs) > 1e-10:
        raise RuntimeError("coupled_equality: KKT solve inaccurate")
    x_star, y_star = sol[:n], sol[n:3 * n]
    ref = {"kind": "coupled_equality", "n": float(n), "x_star": x_star, "y_star": y_star,
           "rho_g": (math.sqrt(5.0) - 1.0) / 2.0, "L_g": 1.0,
           "x0": np.full(n, float(params["x_start"])), "y0": np.full(2 * n, float(params["y_start"]))}
    ref["phi_star"] = float(l1_phi(ref, x_star[None, :])[0])
    data = oracles.pack(n, 2 * n, 1, _noise(params), True, [])
    return Instance(data=data, oracles=oracles.oracle_set("coupled_equality"), reference=ref, dim=n)


def l1_phi(ref, X):
    """Return the optimistic hyper-objective: min over y2 with 1^T y2 = -2 1^T x - n of f(x, x + 1, y2)."""
    n = X.shape[1]
    shift = (-3.0 * X.sum(axis=1) - n) / n  # y2 = x + shift 1 is the closest feasible y2 to x
    return 0.5 * n * shift ** 2 + 0.5 * np.sum(X * X, axis=1)


def l1_inner_saddle(ref, X, Y, Z, gamma1, gamma2, r):
    """Return (theta*, lam*) of LV-HBA's proximal inner saddle problem on L1 at the rows of (X, Y, Z).

    For fixed lam: theta1 = (x + y1/gamma1 - lam)/(1 + 1/gamma1), theta2 = y2 - gamma1 (1 + lam); the dual
    function is strongly concave in lam, maximized where lam = z + gamma2 q(x, theta(lam)) (linear in lam),
    then clipped to [-r, r].
    """
    n = X.shape[1]
    k = 1.0 / gamma1
    Y1, Y2 = Y[:, :n], Y[:, n:]
    Sx, Sy1, Sy2 = X.sum(axis=1), Y1.sum(axis=1), Y2.sum(axis=1)
    Zc = Z[:, 0]
    lam = (Zc + gamma2 * (Sx + (Sx + k * Sy1) / (1 + k) + Sy2 - n * gamma1)) / (
        1.0 + gamma2 * n / (1 + k) + gamma2 * n * gamma1)
    lam = np.clip(lam, -r, r)
    th1 = (X + k * Y1 - lam[:, None]) / (1 + k)
    th2 = Y2 - gamma1 * (1.0 + lam[:, None])
    return np.hstack([th1, th2]), lam[:, None]


def _l1_g(X, Y):
    n = X.shape[1]
    return 0.5 * np.sum(Y[:, :n] ** 2, axis=1) - np.sum(X * Y[:, :n], axis=1) + np.sum(Y[:, n:], axis=1)


def lvhba_metrics(ref, X, Y, Z, TH, LAM, ck, gamma1, gamma2, r) -> dict:
    """Return LV-HBA's metrics: KKT residual of f + c_k (g - v_gamma) on C x Z, feasibility gap g - v_gamma,
    distance of (theta, lam) to the exact inner saddle point, and the inner iterate's constraint violation.

    G_k = grad f + c_k grad(g - v_gamma) with grad_x(g - v) = grad_x g(x, y) - grad_x g(x, theta*)
    - grad_x q(x, theta*)^T lam*, grad_y(g - v) = grad_y g(x, y) - (y - theta*)/gamma1, grad_z = (z - lam*)/gamma2;
    the residual is dist(0, G_k + N_{C x Z}) (spec 4.4), with the normal cone of C in closed form.
    """
    ck = np.asarray(ck, dtype=float)[:, None]
    if ref["kind"] == "coupled_inequality":
        th, lam = l4_inner_saddle(ref, X, Y, Z, gamma1, gamma2, r)
        kkt = l4_kkt_residual(ref, X, Y, Z, ck[:, 0], gamma1, gamma2, r)
        vg, _, _ = l4_value_function(ref, X, Y, Z, gamma1, gamma2, r)
        g = 0.5 * np.sum((Y - ref["a"]) ** 2, axis=1)
        theta_violation = np.linalg.norm(np.maximum(TH - X, 0.0), axis=1)
    else:
        n = X.shape[1]
        th, lam = l1_inner_saddle(ref, X, Y, Z, gamma1, gamma2, r)
        q_th = X.sum(axis=1) + th.sum(axis=1)
        vg = _l1_g(X, th) + lam[:, 0] * q_th + np.sum((th - Y) ** 2, axis=1) / (2 * gamma1) - (
            (lam - Z) ** 2)[:, 0] / (2 * gamma2)
        g = _l1_g(X, Y)
        fx = X - Y[:, n:]
        fy = np.hstack([Y[:, :n] - 1.0, Y[:, n:] - X])
        gx = -Y[:, :n] + th[:, :n] - lam  # grad_x g(x, y) - grad_x g(x, theta*) - lam* 1
        gy = np.hstack([Y[:, :n] - X, np.ones_like(X)]) - (Y - th) / gamma1
        G = np.hstack([fx + ck * gx, fy + ck * gy])
        # C is the hyperplane 1^T (x, y) = 0: remove the normal component (the mean) of G
        G_t = G - G.mean(axis=1, keepdims=True)
        Gz = (ck * (Z - lam) / gamma2)[:, 0]
        Zc = Z[:, 0]
        zr = np.where(Zc <= -r + 1e-12, np.maximum(-Gz, 0.0), np.where(Zc >= r - 1e-12, np.maximum(Gz, 0.0),
                                                                      np.abs(Gz)))
        kkt = np.sqrt(np.sum(G_t ** 2, axis=1) + zr ** 2)
        theta_violation = np.abs(X.sum(axis=1) + TH.sum(axis=1))
    return {"kkt_residual": kkt, "feasibility_gap": g - vg, "theta_violation": theta_violation,
            "inner_distance": np.sqrt(np.sum((TH - th) ** 2, axis=1) + np.sum((LAM - lam) ** 2, axis=1))}


# ---------------------------------------------------------------------------------------------------
# Metrics (never counted)


def metrics(instance: Instance, X: np.ndarray, Y: np.ndarray, iteration=None, record_every: int = 1) -> dict:
    """Return the exact metric columns at the recorded iterates (rows of X, Y).

    ``hypergrad_norm_avg`` is the running mean of |grad Phi(x_k)| over the evenly spaced rows (iteration a
    multiple of ``record_every``), an unbiased estimate of (1/k) sum_{j<k} |grad Phi(x_j)|; the extra rows
    at t = 1, 2 are left out so that they do not overweight the start.
    """
    ref = instance.reference
    kind = ref["kind"]
    out = {}
    if kind in ("quadratic", "quartic_logcosh"):
        hg = np.linalg.norm(sq_hypergradient(ref, X), axis=1)
        out["value_gap"] = sq_value(ref, X) - ref["phi_star"]
        dY = Y - X @ ref["P"].T
        out["ll_distance"] = np.linalg.norm(dY, axis=1)
        out["ll_gap"] = 0.5 * np.sum((dY @ ref["A"]) * dY, axis=1)  # g(x, y) - g(x, y*(x))
    elif kind == "rank_deficient":
        hg = np.linalg.norm(k1_grad_psi(ref, X), axis=1)
        out["value_gap"] = k1_psi(ref, X) - ref["psi_star"]
        out["ll_set_distance"] = k1_set_distance(ref, X, Y)
        NX = X @ ref["N"].T
        best = NX @ (ref["M"] @ ref["M_pinv"]).T - NX  # M y_ls - N x at a least-squares solution
        out["ll_gap"] = 0.5 * np.sum((Y @ ref["M"].T - NX) ** 2, axis=1) - 0.5 * np.sum(best ** 2, axis=1)
    elif kind in ("coupled_inequality", "coupled_equality"):
        phi = l4_phi if kind == "coupled_inequality" else l1_phi
        out["value_gap"] = phi(ref, X) - ref["phi_star"]
        out["y_distance"] = np.linalg.norm(Y - ref["y_star"], axis=1)
        out["rel_x_error"] = np.linalg.norm(X - ref["x_star"], axis=1) / np.linalg.norm(ref["x_star"])
        if kind == "coupled_inequality":
            out["constraint_violation"] = np.linalg.norm(np.maximum(Y - X, 0.0), axis=1)
            # g(x, y) - min{g(x, .) : . <= x}, the minimum at min(a, x)
            a = ref["a"]
            out["ll_gap"] = 0.5 * np.sum((Y - a) ** 2 - (np.minimum(a, X) - a) ** 2, axis=1)
        else:
            out["constraint_violation"] = np.abs(X.sum(axis=1) + Y.sum(axis=1))
            # g(x, y) - min{g(x, .) : 1^T x + 1^T . = 0}: the minimum is at y1 = x + 1 with 1^T y2 = -2 1^T x - n
            n = X.shape[1]
            best = 0.5 * np.sum((X + 1) ** 2, axis=1) - np.sum(X * (X + 1), axis=1) - 2 * X.sum(axis=1) - n
            out["ll_gap"] = _l1_g(X, Y) - best
        hg = None
    else:
        raise ValueError(f"unknown bilevel problem kind {kind!r}")
    if hg is not None:
        out["hypergrad_norm"] = hg
        # running mean over the recorded rows (evenly spaced once t >= record_every)
        if iteration is None:
            even = np.ones(hg.size, dtype=bool)
        else:
            even = (np.asarray(iteration) % record_every == 0) & np.isfinite(hg)
        total = np.cumsum(np.where(even, hg, 0.0))
        count = np.cumsum(even)
        out["hypergrad_norm_avg"] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        out["hypergrad_norm_min"] = np.minimum.accumulate(hg)
    out["x_distance"] = np.linalg.norm(X - ref["x_star"], axis=1)
    return out
