"""Privacy accountants for compositions of Gaussian mechanisms (plain NumPy/SciPy, not jitted).

A Gaussian release q(D) + N(0, s^2 I) of a query with l2-sensitivity Delta has the ratio mu = Delta/s.
For DP-GD and DIFF2-GD the noise is proportional to the clipping radius, so every round's mu is fixed in
advance, and R adaptive rounds compose to the single number M^2 = sum_r mu_r^2. Each accountant answers two
questions:

* ``epsilon(M2, delta)``: the epsilon guaranteed at delta by a composition with total M^2;
* ``max_M2(epsilon, delta)``: the largest admissible M^2 for a target (epsilon, delta) (the calibration).

Accountants (names accepted by ``ACCOUNTANTS``):

* ``zcdp`` (Bun and Steinke 2016): rho = M^2/2; epsilon = rho + 2 sqrt(rho log(1/delta)); inverse
  rho* = (sqrt(epsilon + log(1/delta)) - sqrt(log(1/delta)))^2.
* ``rdp`` (Mironov 2017): eps_alpha = alpha M^2/2; epsilon = min over real alpha > 1 of
  alpha M^2/2 + log(1/delta)/(alpha - 1) (equals the zCDP value: the minimum is at alpha = 1 +
  sqrt(2 log(1/delta)/M^2)).
* ``rdp_improved`` (Balle et al. 2020; Canonne, Kamath, Steinke 2020): epsilon = min over alpha of
  eps_alpha + log((alpha - 1)/alpha) - (log delta + log alpha)/(alpha - 1).
* ``rdp_paper``: the DIFF2 code's rule, a fixed integer order alpha = 1 + ceil(2 log(1/delta)/epsilon)
  with total RDP epsilon/2, i.e. M*^2 = epsilon/alpha.
* ``gdp`` (Dong, Roth, Su 2022): the composition is exactly M-GDP, and (epsilon, delta)-DP holds iff
  delta >= Phi(-epsilon/M + M/2) - e^epsilon Phi(-epsilon/M - M/2) -- the tightest of all.

Adjacency is replace-one record; the sensitivity of the clipped mean of per-client means over P clients of
n records is 2C/N with N = nP (central trust model: the server adds the noise once to the average).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import log_ndtr

ACCOUNTANTS = ("zcdp", "rdp", "rdp_improved", "rdp_paper", "gdp")


def zcdp_epsilon(rho: float, delta: float) -> float:
    """Return the epsilon of rho-zCDP at delta: rho + 2 sqrt(rho log(1/delta))."""
    return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))


def zcdp_max_rho(epsilon: float, delta: float) -> float:
    """Return the largest rho with zcdp_epsilon(rho, delta) <= epsilon."""
    a = math.log(1.0 / delta)
    return (math.sqrt(epsilon + a) - math.sqrt(a)) ** 2


def gdp_delta(epsilon: float, mu: float) -> float:
    """Return delta(epsilon) of mu-GDP: Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2), in log space."""
    if mu <= 0:
        return 0.0
    la = log_ndtr(-epsilon / mu + mu / 2.0)
    lb = epsilon + log_ndtr(-epsilon / mu - mu / 2.0)
    if lb >= la:
        return 0.0
    return float(math.exp(la) * -math.expm1(lb - la))


def gdp_epsilon(mu: float, delta: float) -> float:
    """Return the smallest epsilon >= 0 with gdp_delta(epsilon, mu) <= delta."""
    if gdp_delta(0.0, mu) <= delta:
        return 0.0
    hi = 1.0
    while gdp_delta(hi, mu) > delta:
        hi *= 2.0
    return brentq(lambda e: gdp_delta(e, mu) - delta, 0.0, hi, xtol=1e-14, rtol=1e-14)


def _rdp_improved_epsilon(M2: float, delta: float) -> float:
    def eps(alpha):
        return (alpha * M2 / 2.0 + math.log((alpha - 1.0) / alpha)
                - (math.log(delta) + math.log(alpha)) / (alpha - 1.0))

    best = min(eps(a) for a in np.exp(np.linspace(np.log(1.0001), np.log(1e5), 2000)))
    a0 = 1.0 + math.sqrt(2.0 * math.log(1.0 / delta) / M2)
    res = minimize_scalar(eps, bounds=(1.0 + 1e-9, max(10 * a0, 1e5)), method="bounded",
                          options={"xatol": 1e-10})
    return max(0.0, min(best, float(res.fun)))


def paper_alpha(epsilon: float, delta: float) -> int:
    """Return the DIFF2 code's fixed RDP order 1 + ceil(2 log(1/delta)/epsilon)."""
    return 1 + math.ceil(2.0 * math.log(1.0 / delta) / epsilon)


def epsilon(M2: float, delta: float, accountant: str = "zcdp", target_epsilon: float | None = None) -> float:
    """Return the epsilon at ``delta`` of a Gaussian composition with total squared ratio M2.

    ``rdp_paper`` needs the target epsilon that fixed its order (alpha depends on it); it returns the RDP
    conversion at that fixed alpha.
    """
    if M2 <= 0:
        return 0.0
    if accountant in ("zcdp", "rdp"):
        return zcdp_epsilon(M2 / 2.0, delta)
    if accountant == "rdp_improved":
        return _rdp_improved_epsilon(M2, delta)
    if accountant == "rdp_paper":
        if target_epsilon is None:
            raise ValueError("rdp_paper: the fixed order depends on the target epsilon")
        alpha = paper_alpha(target_epsilon, delta)
        return alpha * M2 / 2.0 + math.log(1.0 / delta) / (alpha - 1.0)
    if accountant == "gdp":
        return gdp_epsilon(math.sqrt(M2), delta)
    raise ValueError(f"unknown accountant {accountant!r}; known: {', '.join(ACCOUNTANTS)}")


def max_M2(epsilon_target: float, delta: float, accountant: str = "zcdp") -> float:
    """Return the largest total M^2 = sum_r (sensitivity_r/noise_r)^2 admissible for (epsilon, delta)."""
    if not (epsilon_target > 0 and 0 < delta < 1):
        raise ValueError(f"need epsilon > 0 and 0 < delta < 1, got ({epsilon_target}, {delta})")
    if accountant in ("zcdp", "rdp"):
        return 2.0 * zcdp_max_rho(epsilon_target, delta)
    if accountant == "rdp_paper":
        return epsilon_target / paper_alpha(epsilon_target, delta)
    if accountant == "rdp_improved":
        f = lambda m2: _rdp_improved_epsilon(m2, delta) - epsilon_target  # noqa: E731
    elif accountant == "gdp":
        f = lambda m2: gdp_epsilon(math.sqrt(m2), delta) - epsilon_target  # noqa: E731
    else:
        raise ValueError(f"unknown accountant {accountant!r}; known: {', '.join(ACCOUNTANTS)}")
    lo = 2.0 * zcdp_max_rho(epsilon_target, delta)  # every accountant here admits at least zCDP's M^2
    hi = 2.0 * lo
    while f(hi) < 0:
        hi *= 2.0
    return brentq(f, lo * (1 - 1e-9), hi, xtol=1e-15, rtol=1e-12)


def dpgd_sigma(epsilon_target: float, delta: float, rounds: int, N: int, accountant: str = "zcdp") -> float:
    """Return the DP-GD noise multiplier: sigma^2 = 4 R/(N^2 M*^2) (noise std C sigma on the mean)."""
    return math.sqrt(4.0 * rounds / (N * N * max_M2(epsilon_target, delta, accountant)))


def diff2_sigmas(epsilon_target: float, delta: float, rounds: int, period: int, N: int, u: float = 1.25,
                 accountant: str = "zcdp", calibration: str = "ceil") -> tuple[float, float, int]:
    """Return (sigma_1, sigma_2, restarts) of DIFF2-GD (family spec B.4).

    restarts n_res = ceil(R/T) (``calibration = "code"``: R/T, as the reproduction code; it can overspend);
    sigma_1^2 = 4 u n_res/(N^2 M*^2), sigma_2^2 = 4 u R/((u - 1) N^2 M*^2); T = 1 is DP-GD:
    sigma_1^2 = 4 R/(N^2 M*^2). Then M^2 = (4/N^2)(n_res/sigma_1^2 + n_diff/sigma_2^2) <= M*^2.
    """
    M2 = max_M2(epsilon_target, delta, accountant)
    restarts = math.ceil(rounds / period)
    if period <= 1:
        return math.sqrt(4.0 * rounds / (N * N * M2)), math.inf, rounds
    n_res = restarts if calibration == "ceil" else rounds / period
    s1 = math.sqrt(4.0 * u * n_res / (N * N * M2))
    s2 = math.sqrt(4.0 * u * rounds / ((u - 1.0) * N * N * M2))
    return s1, s2, restarts


def composed_M2(N: int, sigmas: list[tuple[float, int]]) -> float:
    """Return M^2 = sum over (sigma, count) of count * (2/(N sigma))^2 (replace-one, noise C sigma)."""
    return float(sum(c * (2.0 / (N * s)) ** 2 for s, c in sigmas if c > 0))
