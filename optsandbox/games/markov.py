"""Entropy-regularized two-player tabular Markov game with softmax policies (spec sections 5 and 7.5).

Model (settled from the spec's description of the authors' ``markov/`` module):

* S states, two players, **two actions each**; player i's policy in state s is softmax((0, theta_i(s))):
  reduced coordinates with the logit of action 0 fixed at 0 (spec 5.4), so theta = (theta_1, theta_2) in
  R^{2S}, player blocks of size S. (Two actions keep each player's Fisher block diagonal, one entry per
  state, so the Fisher metric at x* is a per-coordinate weight the kernels already measure.)
* J_i = <d^pi, R_i> + tau sum_s H(pi_i(.|s)), d^pi the normalized discounted state-action occupancy from
  mu_0, the entropy an unweighted sum over states; cost f_i = -J_i.
* Exact gradient (spec 5.4): V_i = (I - gamma P_pi)^{-1} r_i,pi, d = (1 - gamma)(I - gamma P_pi^T)^{-1} mu_0,
  Q_i = R_i + gamma P V_i, Qbar_1(s, a) = sum_b pi_2(b|s) Q_1(s, a, b);
  d<d, R_1>/d theta_1(s) = d(s) p_1(s) (Qbar_1(s, 1) - V_1(s)), and for two actions
  dH(pi_1(.|s))/d theta_1(s) = -p_1(s)(1 - p_1(s)) theta_1(s). So
  F_1(s) = -d(s) p_1 (Qbar_1(s, 1) - V_1(s)) + tau p_1 (1 - p_1) theta_1(s), and symmetrically for player 2.
* Fisher block of player i: diag_s p_i(s)(1 - p_i(s)) (unweighted by occupancy, as in the spec); natural
  policy gradient field G = Fisher^{-1} F, so NPG is Euler on G and Euclidean PG is Euler on F.

Settled [uncertain] items (spec 5.4, 9.1, 9.5):

* Equilibrium: not by minimizing ||F||^2 with Adam (the authors' code, which can stop at non-Nash
  stationary points) but by scipy's root finder on an independent NumPy implementation of F, followed by
  a Nash check (each player's own Jacobian block positive definite). For the spec's game it is theta* = 0.
* Metric: the Fisher metric is frozen at theta* (M = blockdiag(w_i Fisher_i(theta*))), so the certified
  quantity is a fixed norm the kernel can measure; the certificate's constants are those of the natural
  field G in the coordinates Fisher*^{1/2} theta, sampled on the spec's design (cube vertices + 16
  interior points). Near theta*, ||theta - theta*||_M^2 / 2 equals the spec's KL Lyapunov function to
  second order (tests check the KL function too).
* Weights enter only the certificate and the measured norm, never the NPG update (spec 9.1): the band is
  a statement about the metric, checked through the M-norm, not about the algorithm.

Data layout: ``[S, gamma, tau, mu_0 (S), R_1 (S*2*2), R_2 (S*2*2), P (S*2*2*S), workspace (S*(S+1) + 4S)]``.
The workspace lets the oracles solve the two S x S linear systems without allocating (the kernels call
them every iteration); it is scratch, rewritten on every call.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..api import Instance
from .oracles import ORACLE_SIG


def pack(S: int, gamma: float, tau: float, mu0, R1, R2, P) -> np.ndarray:
    work = S * (S + 1) + 4 * S
    return np.concatenate([[S, gamma, tau], np.asarray(mu0, float), np.asarray(R1, float).ravel(),
                           np.asarray(R2, float).ravel(), np.asarray(P, float).ravel(), np.zeros(work)])


@njit(cache=True, error_model="numpy")
def _solve_in_place(A, b, S):
    """Solve A y = b (S x S, Gaussian elimination with partial pivoting) overwriting b with y."""
    for k in range(S):
        piv = k
        for r in range(k + 1, S):
            if abs(A[r, k]) > abs(A[piv, k]):
                piv = r
        if piv != k:
            for c in range(S):
                t = A[k, c]
                A[k, c] = A[piv, c]
                A[piv, c] = t
            t = b[k]
            b[k] = b[piv]
            b[piv] = t
        for r in range(k + 1, S):
            f = A[r, k] / A[k, k]
            for c in range(k, S):
                A[r, c] -= f * A[k, c]
            b[r] -= f * b[k]
    for k in range(S - 1, -1, -1):
        s = b[k]
        for c in range(k + 1, S):
            s -= A[k, c] * b[c]
        b[k] = s / A[k, k]


@njit(cache=True)
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


# error_model="numpy": a division by a vanishing Fisher entry (|theta| > 745) gives inf, which the kernel's
# health check reports as divergence, instead of raising ZeroDivisionError inside the kernel.
@njit(cache=True, error_model="numpy")
def _field(theta, data, out):
    S = int(data[0])
    gamma = data[1]
    tau = data[2]
    o = 3
    mu0 = data[o:o + S]
    o += S
    R1 = data[o:o + 4 * S].reshape((S, 2, 2))
    o += 4 * S
    R2 = data[o:o + 4 * S].reshape((S, 2, 2))
    o += 4 * S
    P = data[o:o + 4 * S * S].reshape((S, 2, 2, S))
    o += 4 * S * S
    A = data[o:o + S * S].reshape((S, S))
    o += S * S
    rhs = data[o:o + S]
    V1 = data[o + S:o + 2 * S]
    V2 = data[o + 2 * S:o + 3 * S]
    d = data[o + 3 * S:o + 4 * S]
    # A = I - gamma P_pi; value of player 1, then player 2, then the occupancy.
    for k in range(3):
        for s in range(S):
            for t in range(S):
                A[s, t] = 1.0 if s == t else 0.0
            rhs[s] = 0.0
        for s in range(S):
            p1 = _sigmoid(theta[s])
            p2 = _sigmoid(theta[S + s])
            q1 = _sigmoid(-theta[s])  # 1 - p1 without cancellation
            q2 = _sigmoid(-theta[S + s])
            for a in range(2):
                pa = p1 if a == 1 else q1
                for b in range(2):
                    pb = p2 if b == 1 else q2
                    q = pa * pb
                    if k == 0:
                        rhs[s] += q * R1[s, a, b]
                    elif k == 1:
                        rhs[s] += q * R2[s, a, b]
                    for t in range(S):
                        if k < 2:
                            A[s, t] -= gamma * q * P[s, a, b, t]
                        else:
                            A[t, s] -= gamma * q * P[s, a, b, t]  # transposed system for d
        if k == 2:
            for s in range(S):
                rhs[s] = (1.0 - gamma) * mu0[s]
        _solve_in_place(A, rhs, S)
        target = V1 if k == 0 else (V2 if k == 1 else d)
        for s in range(S):
            target[s] = rhs[s]
    for s in range(S):
        p1 = _sigmoid(theta[s])
        p2 = _sigmoid(theta[S + s])
        r1 = _sigmoid(-theta[s])
        r2 = _sigmoid(-theta[S + s])
        # Qbar_1(s, 1) = sum_b pi_2(b|s) Q_1(s, 1, b); Qbar_2(s, 1) = sum_a pi_1(a|s) Q_2(s, a, 1).
        qbar1 = 0.0
        qbar2 = 0.0
        for b in range(2):
            pb = p2 if b == 1 else r2
            pa = p1 if b == 1 else r1
            q1 = R1[s, 1, b]
            q2 = R2[s, b, 1]
            for t in range(S):
                q1 += gamma * P[s, 1, b, t] * V1[t]
                q2 += gamma * P[s, b, 1, t] * V2[t]
            qbar1 += pb * q1
            qbar2 += pa * q2
        out[s] = -d[s] * p1 * (qbar1 - V1[s]) + tau * p1 * r1 * theta[s]
        out[S + s] = -d[s] * p2 * (qbar2 - V2[s]) + tau * p2 * r2 * theta[S + s]


@njit(ORACLE_SIG, cache=True, error_model="numpy")
def markov_pseudo_grad(theta, data, out):
    _field(theta, data, out)


@njit(ORACLE_SIG, cache=True, error_model="numpy")
def markov_natural_grad(theta, data, out):
    """G = Fisher^{-1} F: F divided by p (1 - p) per coordinate (the Fisher blocks are diagonal)."""
    markov_pseudo_grad(theta, data, out)
    for k in range(theta.shape[0]):
        out[k] /= _sigmoid(theta[k]) * _sigmoid(-theta[k])


@njit(ORACLE_SIG, cache=True)
def identity_project(x, data, out):
    for i in range(x.shape[0]):
        out[i] = x[i]


def markov_jacobian(theta, data, out):
    """Write dF(theta) into ``out`` by central differences of the jitted F (offline use: certification,
    the flow's worst start). Same call signature as the family's jacobian oracle, but plain Python."""
    out[:, :] = _jacobian_numpy(lambda x: _call(markov_pseudo_grad, x, data), np.asarray(theta, float))


def _call(oracle, x, data):
    out = np.empty(x.size)
    oracle(np.ascontiguousarray(x, dtype=np.float64), data, out)
    return out


# ---------------------------------------------------------------------------------------------------
# Independent NumPy implementation (equilibrium search, tests)


def field_numpy(theta: np.ndarray, S, gamma, tau, mu0, R1, R2, P, natural: bool = False) -> np.ndarray:
    """Return F (or the natural field) with numpy.linalg.solve and einsum: a second implementation."""
    p1, p2 = 1 / (1 + np.exp(-theta[:S])), 1 / (1 + np.exp(-theta[S:]))
    pi1, pi2 = np.stack([1 - p1, p1], 1), np.stack([1 - p2, p2], 1)
    joint = pi1[:, :, None] * pi2[:, None, :]
    Ppi = np.einsum("sab,sabt->st", joint, P)
    A = np.eye(S) - gamma * Ppi
    V1 = np.linalg.solve(A, np.einsum("sab,sab->s", joint, R1))
    V2 = np.linalg.solve(A, np.einsum("sab,sab->s", joint, R2))
    d = (1 - gamma) * np.linalg.solve(A.T, mu0)
    Q1 = R1 + gamma * np.einsum("sabt,t->sab", P, V1)
    Q2 = R2 + gamma * np.einsum("sabt,t->sab", P, V2)
    qbar1 = np.einsum("sab,sb->sa", Q1, pi2)[:, 1]
    qbar2 = np.einsum("sab,sa->sb", Q2, pi1)[:, 1]
    F1 = -d * p1 * (qbar1 - V1) + tau * p1 * (1 - p1) * theta[:S]
    F2 = -d * p2 * (qbar2 - V2) + tau * p2 * (1 - p2) * theta[S:]
    if natural:
        F1, F2 = F1 / (p1 * (1 - p1)), F2 / (p2 * (1 - p2))
    return np.concatenate([F1, F2])


def coordination_game(gamma: float = 0.9, tau: float = 1.0, reward_scale: float = 1.0):
    """Return (S, mu0, R1, R2, P) of the spec's 2-state coordination game (spec 7.5)."""
    S = 2
    R = np.where(np.eye(2, dtype=bool), 1.0, -1.0)[None, :, :].repeat(S, 0) * reward_scale
    P = np.zeros((S, 2, 2, S))
    for s in range(S):
        P[s, 0, 0] = (0.9, 0.1)  # matching on action 0 leads to s_0
        P[s, 1, 1] = (0.1, 0.9)  # matching on action 1 leads to s_1
        P[s, 0, 1] = P[s, 1, 0] = (0.5, 0.5)
    return S, np.array([1.0, 0.0]), R, R.copy(), P


def _jacobian_numpy(f, x, eps=1e-6):
    """Return the Jacobian of f at x by central differences (step eps max(1, |x_k|))."""
    n = x.size
    cols = []
    for k in range(n):
        e = np.zeros(n)
        e[k] = eps * max(1.0, abs(x[k]))
        cols.append((f(x + e) - f(x - e)) / (2 * e[k]))
    return np.array(cols).T


def equilibrium(S, gamma, tau, mu0, R1, R2, P) -> tuple[np.ndarray, float]:
    """Return (theta*, residual): a root of F from theta = 0 by scipy's hybrid Powell method, checked to
    be a Nash point (each player's own Hessian block positive definite: a strict local best response)."""
    from scipy.optimize import root

    def F(x):
        return field_numpy(x, S, gamma, tau, mu0, R1, R2, P)

    sol = root(F, np.zeros(2 * S), tol=1e-14)
    x = sol.x
    residual = float(np.linalg.norm(F(x)))
    J = _jacobian_numpy(F, x)
    for blk in (slice(0, S), slice(S, 2 * S)):
        own = J[blk, blk]
        if np.linalg.eigvalsh(0.5 * (own + own.T))[0] <= 0:
            raise ValueError("the stationary point found is not a Nash equilibrium (own Hessian not PD)")
    return x, residual


def build_markov(params: dict, rng: np.random.Generator) -> Instance:
    """The 2-state, 2-action coordination Markov game of the spec (section 7.5) in reduced logits.

    Reference: theta* by scipy root-finding on an independent NumPy implementation of F (it is 0, the
    uniform policies, by the symmetry of the game: every Qbar(s, a) - V(s) vanishes there), with the Nash
    check of :func:`equilibrium`. Two certificates (heuristic: the field's Jacobian is sampled at the
    vertices, the center and 16 interior points of the cube of radius ``region`` around theta*, the
    spec's sample design): ``certificate`` for F in Euclidean logits (EPG) and ``certificate_natural``
    for G = Fisher^{-1} F in the Fisher metric at theta* (NPG): constants of
    Fisher*^{1/2} dG Fisher*^{-1/2}, metric M = blockdiag(w_i Fisher_i(theta*)).
    x0 = theta* + N(0, init_scale^2 I) (spec: 0.01).
    """
    from .certificate import certify_jacobians, sample_points

    S, mu0, R1, R2, P = coordination_game(params["gamma"], params["tau"], params["reward_scale"])
    data = pack(S, params["gamma"], params["tau"], mu0, R1, R2, P)
    xstar, residual = equilibrium(S, params["gamma"], params["tau"], mu0, R1, R2, P)
    x0 = xstar + params["init_scale"] * rng.standard_normal(2 * S)
    radius = params["region"]
    offsets = np.array([0, S, 2 * S])
    pts, design = sample_points(xstar, radius, 16, np.random.default_rng(int(rng.integers(2 ** 31 - 1))),
                                max_points=2 ** (2 * S))
    p = 1 / (1 + np.exp(-xstar))
    fisher = p * (1 - p)
    s = np.sqrt(fisher)
    J_F, J_G = [], []
    for x in pts:
        J_F.append(_jacobian_numpy(lambda y: _call(markov_pseudo_grad, y, data), x))
        J_G.append(s[:, None] * _jacobian_numpy(lambda y: _call(markov_natural_grad, y, data), x) / s[None, :])
    note = f"constants from {len(pts)} sampled Jacobians ({design} + 16 interior points): heuristic"
    region = f"cube of radius {radius:g} around theta*"
    cert = certify_jacobians(J_F, offsets, region=region, notes=[note])
    cert_nat = certify_jacobians(J_G, offsets, region=region + " (Fisher metric at theta*)",
                                 notes=[note, "field G = Fisher^-1 F in coordinates Fisher*^1/2 theta"],
                                 base=fisher)
    oracles = {"pseudo_grad": markov_pseudo_grad, "natural_grad": markov_natural_grad,
               "project": identity_project, "jacobian": markov_jacobian}
    # F is evaluated through two linear solves: its absolute rounding error is ~1e-16, so distances to
    # theta* below ~1e-15 / alpha are noise. One-step ratios are checked above 1e-9 (six digits of margin).
    reference = {"x_star": xstar, "x0": x0, "equilibrium_residual": residual, "region": radius,
                 "rounding_floor": 1e-9,
                 "certificate": cert, "certificate_natural": cert_nat, "fisher_star": fisher,
                 "players": 2.0, "states": float(S)}
    return Instance(data=data, oracles=oracles, reference=reference, dim=2 * S)


def kl_lyapunov(theta: np.ndarray, xstar: np.ndarray, w_blocks, S: int) -> float:
    """Return sum_i w_i sum_s KL(pi_i*(.|s) || pi_i(.|s)) (the spec's Lyapunov function; tests)."""
    total = 0.0
    for i in range(2):
        for s in range(S):
            k = i * S + s
            ps, p = 1 / (1 + math.exp(-xstar[k])), 1 / (1 + math.exp(-theta[k]))
            total += w_blocks[i] * (ps * math.log(ps / p) + (1 - ps) * math.log((1 - ps) / (1 - p)))
    return total
