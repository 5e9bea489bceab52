"""Synthetic MDPs with exact objectives and independently computed optima (spec section 3).

* PG-1 ``quadratic_bandit``: s ~ N(0, Sigma_s), a ~ N(theta^T s, sigma^2), r = -(a - theta*^T s)^2, H = 1.
  J(theta) = -(D^2 + sigma^2) with D^2 = (theta - theta*)^T Sigma_s (theta - theta*); the maximiser theta*
  is planted, J* = -sigma^2, and ``subopt`` = D^2 exactly (no cancellation).
* PG-2 ``kernel_bandit``: the same with the bounded reward exp(-(a - theta*^T s)^2 / (2 c^2)):
  J = c / sqrt(c^2 + sigma^2 + D^2), J* = c / sqrt(c^2 + sigma^2); started at distance D_0 from theta*.
* PG-3 ``lqr``: discounted LQR with a linear-Gaussian policy u = K x + sigma xi. J(K) from a discrete
  Lyapunov solve, grad J from a second one, the optimum K* from the discrete algebraic Riccati equation
  (scipy), independent of every algorithm here.
* PG-4 ``tabular``: random MDP (Dirichlet(1) transitions, U[0, 1] rewards, uniform rho) with a softmax
  policy; J(theta) = rho^T (I - gamma_bar P_pi)^{-1} r_pi by a linear solve, J* by policy iteration
  (exact after finitely many improvements; tests cross-check it with value iteration).

Metrics are always the exact infinite-horizon quantities (spec section 0): ``subopt`` = J* - J(theta),
``grad_norm_sq`` = ||grad J(theta)||^2, ``dist_to_opt_sq`` = ||theta - theta*||^2 where theta* is unique.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_discrete_are, solve_discrete_lyapunov

from ..api import Instance
from . import oracles
from .oracles import HEADER, KERNEL_BANDIT, LQR, QUADRATIC_BANDIT, TABULAR


# ---------------------------------------------------------------------------------------------------
# Bandits


def _covariance(d: int, condition: float, rng: np.random.Generator) -> np.ndarray:
    """Return a random SPD matrix with eigenvalues log-spaced in [1/condition, 1] (identity if condition 1)."""
    if condition <= 1.0:
        return np.eye(d)
    Qm, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.logspace(0.0, -math.log10(condition), d)
    S = (Qm * eig) @ Qm.T
    return 0.5 * (S + S.T)


def _bandit(kind: int, params: dict, rng: np.random.Generator) -> Instance:
    d = int(params["d"])
    sigma = float(params["sigma"])
    S = _covariance(d, float(params["condition"]), rng)
    L = np.linalg.cholesky(S)
    star = rng.standard_normal(d) / math.sqrt(d)
    c = float(params.get("width", 1.0))
    if kind == QUADRATIC_BANDIT:
        theta0 = np.zeros(d)
        j_star = -sigma ** 2
    else:
        u = rng.standard_normal(d)
        theta0 = star + float(params["start_distance"]) * u / math.sqrt(u @ S @ u)
        j_star = c / math.sqrt(c * c + sigma * sigma)
    data = oracles.pack(kind, d, 1, d, 1.0, 1, 1, sigma, np.concatenate([[c], L.ravel(), S.ravel(), star]))
    eig = np.linalg.eigvalsh(S)
    reference = {"J_star": j_star, "theta_star": star, "theta0": theta0, "Sigma_s": S,
                 "lambda_min": float(eig[0]), "lambda_max": float(eig[-1]),
                 "mu_fisher": float(eig[0]) / sigma ** 2, "horizon": 1.0, "discount": 1.0,
                 "truncation_bias": 0.0}
    if kind == QUADRATIC_BANDIT:
        reference["L_smooth"] = 2.0 * float(eig[-1])
    return Instance(data=data, oracles=oracles.BANDIT_ORACLES, reference=reference, dim=d)


def build_quadratic_bandit(params: dict, rng: np.random.Generator) -> Instance:
    """PG-1: quadratic linear-Gaussian contextual bandit, theta_0 = 0, planted theta* ~ N(0, I/d)."""
    return _bandit(QUADRATIC_BANDIT, params, rng)


def build_kernel_bandit(params: dict, rng: np.random.Generator) -> Instance:
    """PG-2: bounded-kernel bandit, theta_0 at Sigma-distance ``start_distance`` from theta*."""
    return _bandit(KERNEL_BANDIT, params, rng)


def _bandit_parts(data: np.ndarray):
    d = int(data[3])
    S = data[HEADER + 1 + d * d:HEADER + 1 + 2 * d * d].reshape(d, d)
    star = data[HEADER + 1 + 2 * d * d:HEADER + 1 + 2 * d * d + d]
    return int(data[0]), data[7], data[HEADER], S, star


def bandit_J(data: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    kind, sigma, c, S, star = _bandit_parts(data)
    delta = np.atleast_2d(thetas) - star
    D2 = np.einsum("ni,ij,nj->n", delta, S, delta)
    if kind == QUADRATIC_BANDIT:
        return -(D2 + sigma ** 2)
    return c / np.sqrt(c * c + sigma * sigma + D2)


# ---------------------------------------------------------------------------------------------------
# LQR


DEFAULT_A = np.array([[0.9, 0.1], [0.0, 0.8]])
DEFAULT_B = np.array([[0.0], [0.5]])


def build_lqr(params: dict, rng: np.random.Generator) -> Instance:
    """PG-3: discounted LQR; the spec's default 2x1 instance or a random one with rho(A) = 0.9; K_0 = 0."""
    if params["instance"] == "default-2x1":
        A, B = DEFAULT_A.copy(), DEFAULT_B.copy()
    else:
        nx, nu = int(params["nx"]), int(params["nu"])
        A = rng.standard_normal((nx, nx))
        A *= 0.9 / max(abs(np.linalg.eigvals(A)))
        B = rng.standard_normal((nx, nu)) / math.sqrt(nx)
    nx, nu = B.shape
    Q = np.eye(nx)
    R = float(params["control_cost"]) * np.eye(nu)
    w_std = math.sqrt(float(params["process_noise"])) * np.ones(nx)
    x0_std = np.ones(nx)
    discount = float(params["discount"])
    sigma = float(params["sigma"])
    horizon = int(params["horizon"])
    data = oracles.pack(LQR, nx, nu, nx * nu, discount, horizon, 2 * nx * nx, sigma,
                        np.concatenate([A.ravel(), B.ravel(), Q.ravel(), R.ravel(), w_std, x0_std]))
    lq = LQRModel.from_data(data)
    K_star, P_star = lq.optimal_gain()
    K0 = np.zeros((nu, nx))
    distance = float(params.get("start_distance", 0.0))
    if distance > 0.0:  # PL-regime checks: start at a random stabilising gain at this distance from K*
        for _ in range(1000):
            u = rng.standard_normal((nu, nx))
            K0 = K_star + distance * u / np.linalg.norm(u)
            if lq.stable(K0) and math.sqrt(discount) * max(abs(np.linalg.eigvals(A + B @ K0))) < 0.99:
                break
        else:
            raise ValueError(f"start_distance = {distance}: no stabilising gain found at that distance from K*")
    j_star = lq.J(K_star)
    reference = {"J_star": j_star, "theta_star": K_star.ravel(), "theta0": K0.ravel(), "P_star": P_star,
                 "horizon": float(horizon), "discount": discount,
                 "truncation_bias": lq.J_H(K0, horizon) - lq.J(K0),
                 "dist0": float(np.linalg.norm(K0 - K_star))}
    return Instance(data=data, oracles=oracles.LQR_ORACLES, reference=reference, dim=nx * nu)


class LQRModel:
    """Exact J, grad J, J_H and the Riccati optimum of a discounted LQR with policy u = K x + sigma xi."""

    def __init__(self, A, B, Q, R, W, Sigma0, discount, sigma):
        self.A, self.B, self.Q, self.R, self.W, self.Sigma0 = A, B, Q, R, W, Sigma0
        self.g, self.sigma = discount, sigma
        self.N0 = sigma ** 2 * B @ B.T + W

    @classmethod
    def from_data(cls, data: np.ndarray) -> "LQRModel":
        nx, nu = int(data[1]), int(data[2])
        off = HEADER
        A = data[off:off + nx * nx].reshape(nx, nx); off += nx * nx
        B = data[off:off + nx * nu].reshape(nx, nu); off += nx * nu
        Q = data[off:off + nx * nx].reshape(nx, nx); off += nx * nx
        R = data[off:off + nu * nu].reshape(nu, nu); off += nu * nu
        W = np.diag(data[off:off + nx] ** 2); off += nx
        S0 = np.diag(data[off:off + nx] ** 2)
        return cls(A, B, Q, R, W, S0, float(data[4]), float(data[7]))

    def stable(self, K) -> bool:
        return math.sqrt(self.g) * max(abs(np.linalg.eigvals(self.A + self.B @ K))) < 1.0

    def P(self, K):
        AK = self.A + self.B @ K
        return solve_discrete_lyapunov(math.sqrt(self.g) * AK.T, self.Q + K.T @ self.R @ K)

    def J(self, K) -> float:
        """-[tr(P_K Sigma_0) + (sigma^2 tr R + gamma tr(P_K N_0)) / (1 - gamma)]; -inf if not stabilising."""
        K = np.asarray(K, float).reshape(self.B.shape[1], self.A.shape[0])
        if not self.stable(K):
            return -math.inf
        P = self.P(K)
        return -(np.trace(P @ self.Sigma0) + (self.sigma ** 2 * np.trace(self.R)
                                              + self.g * np.trace(P @ self.N0)) / (1 - self.g))

    def grad(self, K) -> np.ndarray:
        """-2 [(R + gamma B^T P B) K + gamma B^T P A] Sigma_K, Sigma_K the discounted state second moment."""
        K = np.asarray(K, float).reshape(self.B.shape[1], self.A.shape[0])
        if not self.stable(K):
            return np.full(K.shape, np.nan)
        P = self.P(K)
        AK = self.A + self.B @ K
        SK = solve_discrete_lyapunov(math.sqrt(self.g) * AK,
                                     self.Sigma0 + self.g * self.N0 / (1 - self.g))
        return -2.0 * ((self.R + self.g * self.B.T @ P @ self.B) @ K + self.g * self.B.T @ P @ self.A) @ SK

    def J_H(self, K, horizon: int) -> float:
        """Truncated return -sum_{t<H} gamma^t [tr((Q + K^T R K) S_t) + sigma^2 tr R], S_{t+1} = A_K S_t A_K^T + N_0."""
        K = np.asarray(K, float).reshape(self.B.shape[1], self.A.shape[0])
        AK = self.A + self.B @ K
        C = self.Q + K.T @ self.R @ K
        S = self.Sigma0.copy()
        total, w = 0.0, 1.0
        for _ in range(horizon):
            total -= w * (np.trace(C @ S) + self.sigma ** 2 * np.trace(self.R))
            S = AK @ S @ AK.T + self.N0
            w *= self.g
        return total

    def stable_batch(self, Ks: np.ndarray) -> np.ndarray:
        AK = self.A + np.einsum("ik,nkj->nij", self.B, Ks)
        return math.sqrt(self.g) * np.max(np.abs(np.linalg.eigvals(AK)), axis=1) < 1.0

    def J_and_grad_batch(self, Ks: np.ndarray):
        """Return (J, grad J) for a stack of stabilising gains (n, nu, nx): the two discounted Lyapunov
        equations of :meth:`J` and :meth:`grad`, solved for all gains at once as (nx^2 x nx^2) linear
        systems (I - gamma A_K^T (x) A_K^T) vec P = vec C (row-major vec: vec(M X N) = (M (x) N^T) vec X)."""
        n, nx = Ks.shape[0], self.A.shape[0]
        AK = self.A + np.einsum("ik,nkj->nij", self.B, Ks)
        eye = np.eye(nx * nx)
        C = self.Q + np.einsum("nki,kl,nlj->nij", Ks, self.R, Ks)
        kron_t = np.einsum("nki,nlj->nijkl", AK, AK).reshape(n, nx * nx, nx * nx)  # A_K^T X A_K
        P = np.linalg.solve(eye - self.g * kron_t, C.reshape(n, nx * nx, 1)).reshape(n, nx, nx)
        J = -(np.einsum("nij,ji->n", P, self.Sigma0)
              + (self.sigma ** 2 * np.trace(self.R) + self.g * np.einsum("nij,ji->n", P, self.N0)) / (1 - self.g))
        kron = np.einsum("nik,njl->nijkl", AK, AK).reshape(n, nx * nx, nx * nx)  # A_K X A_K^T
        rhs = self.Sigma0 + self.g * self.N0 / (1 - self.g)
        SK = np.linalg.solve(eye - self.g * kron, np.broadcast_to(rhs.reshape(1, nx * nx, 1),
                                                                   (n, nx * nx, 1))).reshape(n, nx, nx)
        BPB = np.einsum("ki,nkl,lj->nij", self.B, P, self.B)
        BPA = np.einsum("ki,nkl,lj->nij", self.B, P, self.A)
        G = -2.0 * np.einsum("nik,nkj->nij", (self.R + self.g * BPB) @ Ks + self.g * BPA, SK)
        return J, G

    def optimal_gain(self):
        """K* = -gamma (R + gamma B^T P* B)^{-1} B^T P* A, P* from the discounted Riccati equation."""
        sg = math.sqrt(self.g)
        P = solve_discrete_are(sg * self.A, sg * self.B, self.Q, self.R)
        K = -self.g * np.linalg.solve(self.R + self.g * self.B.T @ P @ self.B, self.B.T @ P @ self.A)
        return K, P


# ---------------------------------------------------------------------------------------------------
# Tabular


def build_tabular(params: dict, rng: np.random.Generator) -> Instance:
    """PG-4: random tabular MDP, softmax policy, theta_0 = 0 (uniform policy); J* by policy iteration."""
    nS, nA = int(params["states"]), int(params["actions"])
    discount = float(params["discount"])
    horizon = int(params["horizon"])
    P = rng.dirichlet(np.ones(nS), size=(nS, nA))
    # A constant shift of every reward changes J by shift/(1 - gamma) and nothing else (same gradient, same
    # optimal policy); it does change the variance of the score-function estimators (spec 2.3).
    r = rng.uniform(0.0, 1.0, size=(nS, nA)) - float(params.get("reward_shift", 0.0))
    rho = np.full(nS, 1.0 / nS)
    cdf = np.cumsum(P, axis=2)
    cdf[:, :, -1] = 1.0
    rho_cdf = np.cumsum(rho)
    rho_cdf[-1] = 1.0
    data = oracles.pack(TABULAR, 1, 1, nS * nA, discount, horizon, 1, 0.0,
                        np.concatenate([[nS, nA], cdf.ravel(), r.ravel(), rho_cdf]))
    model = TabularModel(P, r, rho, discount)
    V_star, policy = model.policy_iteration()
    j_star = float(rho @ V_star)
    theta0 = np.zeros(nS * nA)
    reference = {"J_star": j_star, "V_star": V_star, "optimal_actions": policy.astype(float),
                 "theta0": theta0, "horizon": float(horizon), "discount": discount,
                 "truncation_bias": model.J(theta0) - model.J_H(theta0, horizon)}
    return Instance(data=data, oracles=oracles.TABULAR_ORACLES, reference=reference, dim=nS * nA)


class TabularModel:
    """Exact J, grad J, J_H and the optimum of a tabular MDP under a softmax policy."""

    def __init__(self, P, r, rho, discount):
        self.P, self.r, self.rho, self.g = P, r, rho, discount
        self.nS, self.nA = r.shape

    @classmethod
    def from_data(cls, data: np.ndarray) -> "TabularModel":
        nS, nA = int(data[HEADER]), int(data[HEADER + 1])
        off = HEADER + 2
        cdf = data[off:off + nS * nA * nS].reshape(nS, nA, nS); off += nS * nA * nS
        r = data[off:off + nS * nA].reshape(nS, nA); off += nS * nA
        rho_cdf = data[off:off + nS]
        P = np.diff(cdf, axis=2, prepend=0.0)
        rho = np.diff(rho_cdf, prepend=0.0)
        return cls(P, r, rho, float(data[4]))

    def policy(self, theta) -> np.ndarray:
        z = np.asarray(theta, dtype=complex if np.iscomplexobj(theta) else float).reshape(self.nS, self.nA)
        z = z - z.real.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def _markov(self, pi):
        P_pi = np.einsum("sa,sat->st", pi, self.P)
        r_pi = np.einsum("sa,sa->s", pi, self.r)
        return P_pi, r_pi

    def values(self, theta):
        pi = self.policy(theta)
        P_pi, r_pi = self._markov(pi)
        V = np.linalg.solve(np.eye(self.nS) - self.g * P_pi, r_pi)
        return pi, P_pi, V

    def J(self, theta) -> float:
        return float(self.rho @ self.values(theta)[2])

    def grad(self, theta) -> np.ndarray:
        """dJ/dtheta_{s,a} = d_rho(s) pi(a|s) A(s, a) / (1 - gamma) (Agarwal et al. 2021)."""
        pi, P_pi, V = self.values(theta)
        Qsa = self.r + self.g * np.einsum("sat,t->sa", self.P, V)
        adv = Qsa - V[:, None]
        d_rho = (1 - self.g) * np.linalg.solve((np.eye(self.nS) - self.g * P_pi).T, self.rho)
        return (d_rho[:, None] * pi * adv / (1 - self.g)).ravel()

    def J_H(self, theta, horizon: int):
        """sum_{t<H} gamma^t rho_t^T r_pi (complex theta allowed, for complex-step derivatives)."""
        pi = self.policy(theta)
        P_pi, r_pi = self._markov(pi)
        dist = self.rho.astype(pi.dtype)
        total, w = 0.0, 1.0
        for _ in range(horizon):
            total = total + w * (dist @ r_pi)
            dist = dist @ P_pi
            w *= self.g
        return total

    def grad_H(self, theta, horizon: int, step: float = 1e-20) -> np.ndarray:
        """Exact grad J_H by complex-step differentiation (no subtractive cancellation)."""
        theta = np.asarray(theta, float)
        out = np.empty(theta.size)
        for i in range(theta.size):
            z = theta.astype(complex)
            z[i] += 1j * step
            out[i] = self.J_H(z, horizon).imag / step
        return out

    def policy_iteration(self, max_iterations: int = 1000):
        """Return (V*, greedy actions) by Howard's policy iteration (exact at termination)."""
        actions = np.zeros(self.nS, dtype=int)
        idx = np.arange(self.nS)
        for _ in range(max_iterations):
            P_pi = self.P[idx, actions]
            V = np.linalg.solve(np.eye(self.nS) - self.g * P_pi, self.r[idx, actions])
            Qsa = self.r + self.g * np.einsum("sat,t->sa", self.P, V)
            better = Qsa.argmax(axis=1)
            keep = Qsa[idx, actions] >= Qsa[idx, better] - 1e-12
            new = np.where(keep, actions, better)
            if np.array_equal(new, actions):
                return V, actions
            actions = new
        raise RuntimeError("policy iteration did not terminate")

    def value_iteration(self, tol: float = 1e-12) -> np.ndarray:
        V = np.zeros(self.nS)
        while True:
            V_new = (self.r + self.g * np.einsum("sat,t->sa", self.P, V)).max(axis=1)
            if np.max(np.abs(V_new - V)) < tol:
                return V_new
            V = V_new


# ---------------------------------------------------------------------------------------------------
# Exact metrics of recorded iterates


def exact_metrics(instance: Instance, thetas: np.ndarray) -> dict:
    """Return {subopt, grad_norm_sq, [dist_to_opt_sq]} columns for the rows of ``thetas`` (NaN rows stay NaN)."""
    data = instance.data
    ref = instance.reference
    kind = int(data[0])
    n = thetas.shape[0]
    subopt = np.full(n, np.nan)
    grad_sq = np.full(n, np.nan)
    out = {"subopt": subopt, "grad_norm_sq": grad_sq}
    finite = np.all(np.isfinite(thetas), axis=1)
    if kind in (QUADRATIC_BANDIT, KERNEL_BANDIT):
        _, sigma, c, S, star = _bandit_parts(data)
        delta = thetas[finite] - star
        D2 = np.einsum("ni,ij,nj->n", delta, S, delta)
        if kind == QUADRATIC_BANDIT:
            subopt[finite] = D2
            scale = -2.0 * np.ones_like(D2)
        else:
            q0, q = c * c + sigma * sigma, c * c + sigma * sigma + D2
            # J* - J = c (q^{-1/2} q0^{-1/2}) (q - q0) / (q^{1/2} + q0^{1/2}) without cancellation
            subopt[finite] = c * D2 / (np.sqrt(q * q0) * (np.sqrt(q) + np.sqrt(q0)))
            scale = -c * q ** -1.5
        grad_sq[finite] = np.sum((scale[:, None] * (delta @ S)) ** 2, axis=1)
        out["dist_to_opt_sq"] = np.where(finite, np.sum((thetas - star) ** 2, axis=1), np.nan)
    elif kind == LQR:
        lq = LQRModel.from_data(data)
        nu, nx = lq.B.shape[1], lq.A.shape[0]
        Ks = thetas.reshape(n, nu, nx)
        ok = finite.copy()
        ok[finite] = lq.stable_batch(Ks[finite])
        subopt[finite & ~ok] = math.inf
        if ok.any():
            J, G = lq.J_and_grad_batch(Ks[ok])
            subopt[ok] = ref["J_star"] - J
            grad_sq[ok] = np.sum(G ** 2, axis=(1, 2))
        out["dist_to_opt_sq"] = np.where(finite, np.sum((thetas - ref["theta_star"]) ** 2, axis=1), np.nan)
    else:
        tab = TabularModel.from_data(data)
        for k in np.flatnonzero(finite):
            subopt[k] = ref["J_star"] - tab.J(thetas[k])
            grad_sq[k] = float(np.sum(tab.grad(thetas[k]) ** 2))
    return out
