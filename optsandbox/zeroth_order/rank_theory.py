"""Constants of the ZO-RankSGD descent argument (spec A.6, [derived]): c_1(m, k) and c_2(m, k, d).

As mu -> 0 the ranking of f(x + mu xi_i) is the ranking of z_i = <xi_i, u>, u = grad f / ||grad f||, so

* c_1 = E<g, u> = (1/|E|) [sum_{r<k} (2r - (m-1)) e_r + k sum_{r>=k} e_r], with e_r = E z_(r) the expected
  r-th smallest of m standard normals (by quadrature);
* E||g||^2 = c_2 = (d - 1) s + q: s = [sum_{r<k} (m-1-2r)^2 + k^2 (m-k)] / |E|^2 is the variance of every
  coordinate orthogonal to u, q = E[(sum_i w_i z_i)^2] / |E|^2 the second moment along u (Monte Carlo with
  a fixed seed, 200 000 draws: relative error ~0.3 %, negligible against (d - 1) s for d >= 10).

For the pairwise special case spread over P = m/2 disjoint pairs (``PAIRS``): each pair contributes
xi_worse - xi_better, whose component along u is |z_a - z_b| with z_a - z_b ~ N(0, 2), so
c_1 = E|z_a - z_b| = 2/sqrt(pi); s = 2/P = 4/m; along u the second moment is c_1^2 + (2 - c_1^2)/P.

One step with step eta: E f(x_{t+1}) <= f(x_t) - eta c_1 ||grad f(x_t)|| + L eta^2 c_2 / 2 (+ a rank-flip bias
of order mu L d / ||grad f||, neglected when mu is small), hence

    (1/T) sum_{t<T} E||grad f(x_t)|| <= (f_0 - f*) / (eta c_1 T) + L eta c_2 / (2 c_1),

minimized by eta* = sqrt(2 (f_0 - f*) / (L c_2 T)) at sqrt(2 L c_2 (f_0 - f*) / T) / c_1.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import integrate, special

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def edges(m: int, k: int) -> float:
    """Return |E| = k(k-1)/2 + k(m-k), the number of comparisons a top-k ranking of m points reveals."""
    return k * (k - 1) / 2.0 + k * (m - k)


def rank_weights(m: int, k: int, code: bool = False) -> np.ndarray:
    """Return w(r) for ranks r = 0..m-1 (r >= k: an unreturned point), as in the kernel.

    ``code``: the public code's weights 2r - m on the returned points (spec A.4), as the kernel's
    ``code_weights``; they no longer sum to 0, so c_1 and c_2 differ from the DAG estimator's and the
    descent bound must use these (the derivation only needs E<g, u> and E||g||^2 of the estimator used).
    """
    w = np.full(m, float(k))
    r = np.arange(k)
    w[:k] = 2.0 * r - (m - 1.0) - (1.0 if code else 0.0)
    return w


@lru_cache(maxsize=None)
def normal_order_means(m: int) -> tuple[float, ...]:
    """Return E z_(r), r = 0..m-1, the expected order statistics of m standard normals (quadrature)."""
    out = []
    for r in range(m):
        logc = special.gammaln(m + 1) - special.gammaln(r + 1) - special.gammaln(m - r)

        def f(z, r=r, logc=logc):
            lp = special.log_ndtr(z)
            lq = special.log_ndtr(-z)
            return z * math.exp(logc + r * lp + (m - 1 - r) * lq - 0.5 * z * z - _LOG_SQRT_2PI)

        val, _ = integrate.quad(f, -12.0, 12.0, limit=200, epsabs=1e-12)
        out.append(val)
    return tuple(out)


def c1(m: int, k: int, pairs: bool = False, code: bool = False) -> float:
    """Return E<g, u> (mu -> 0) for the (m, k) ranking estimator, or for m/2 disjoint pairs."""
    if pairs:
        return 2.0 / math.sqrt(math.pi)
    e = np.array(normal_order_means(m))
    return float(rank_weights(m, k, code) @ e / edges(m, k))


def s_orth(m: int, k: int, pairs: bool = False, code: bool = False) -> float:
    """Return the variance of each coordinate of g orthogonal to grad f."""
    if pairs:
        return 4.0 / m
    w = rank_weights(m, k, code)
    return float(np.sum(w * w) / edges(m, k) ** 2)


@lru_cache(maxsize=None)
def q_along(m: int, k: int, pairs: bool = False, code: bool = False) -> float:
    """Return E<g, u>^2 (second moment along grad f), Monte Carlo with a fixed seed, 200 000 draws."""
    if pairs:
        c = c1(m, k, pairs=True)
        return c * c + (2.0 - c * c) / (m // 2)
    rng = np.random.default_rng(20240101)
    z = np.sort(rng.standard_normal((200_000, m)), axis=1)
    proj = z @ rank_weights(m, k, code) / edges(m, k)
    return float(np.mean(proj * proj))


def c2(m: int, k: int, d: int, pairs: bool = False, code: bool = False) -> float:
    """Return E||g||^2 = (d - 1) s + q."""
    return (d - 1) * s_orth(m, k, pairs, code) + q_along(m, k, pairs, code)


def optimal_eta(gap0: float, L: float, c_2: float, T: int) -> float:
    """Return eta* = sqrt(2 (f_0 - f*) / (L c_2 T)), the constant step minimizing the averaged bound."""
    return math.sqrt(2.0 * gap0 / (L * c_2 * T))


def constant_bound(gap0: float, L: float, c_1: float, c_2: float, eta: float, T: int) -> float:
    """Return (f_0 - f*)/(eta c_1 T) + L eta c_2/(2 c_1): the bound on (1/T) sum_{t<T} E||grad f(x_t)||."""
    return gap0 / (eta * c_1 * T) + L * eta * c_2 / (2.0 * c_1)


def weighted_bound(gap0: float, L: float, c_1: float, c_2: float, eta0: float, t: np.ndarray) -> np.ndarray:
    """Return the bound on the eta-weighted average of ||grad f|| after t steps of eta_s = eta0/sqrt(s+1).

    [(f_0 - f*) + (L c_2/2) sum_{s<t} eta_s^2] / (c_1 sum_{s<t} eta_s), sums computed exactly.
    """
    t = np.asarray(t, dtype=np.int64)
    top = int(t.max())
    s = np.arange(1, top + 1, dtype=float)
    sum_eta = np.concatenate([[0.0], np.cumsum(eta0 / np.sqrt(s))])
    sum_eta2 = np.concatenate([[0.0], np.cumsum(eta0 * eta0 / s)])
    with np.errstate(divide="ignore", invalid="ignore"):
        return (gap0 + 0.5 * L * c_2 * sum_eta2[t]) / (c_1 * sum_eta[t])


def weighted_optimal_eta0(gap0: float, L: float, c_2: float, T: int) -> float:
    """Return eta0 minimizing the weighted bound at T (sum eta_s^2 ~ eta0^2 (1 + ln T))."""
    return math.sqrt(2.0 * gap0 / (L * c_2 * (1.0 + math.log(T))))


def weighted_bound_slope(gap0, L, c_1, c_2, eta0, T: int) -> float:
    """Return the log-log slope of :func:`weighted_bound` over t in [sqrt(T), T] (the fitted tail).

    The bound is -1/2 up to a log factor; its own slope over the window the rate check fits (the upper
    half of log t) is the exponent the measured curve is held to.
    """
    t = np.unique(np.geomspace(max(math.sqrt(T), 2.0), T, 40).astype(np.int64))
    b = weighted_bound(gap0, L, c_1, c_2, eta0, t)
    return float(np.polyfit(np.log(t), np.log(b), 1)[0])
