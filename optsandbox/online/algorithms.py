"""Runners of the online family: step constants from the environment, the game loop, columns, theory.

``budget.iterations`` is the horizon T (rounds); rows are recorded every ``record_every`` rounds and on a
geometric grid. Every runner adds the column ``variation_bound`` = D (sqrt(sigma^2_{1:t}) + sqrt(Sigma^2_{1:t}))
+ L D^2 + D G, the working form of Chen et al.'s bound with unit constants (for plots and ratios only).

Theory attached (``Result.theory``):

* OOMD convex and optimistic FTRL: ``pseudo_regret`` and ``realized_regret`` grow at most like
  sqrt(sigma^2_{1:T}) + sqrt(Sigma^2_{1:T}) (Chen et al. 2023/24; Sachs et al. 2022, Thm 5): form power with the
  environment's exponent of that quantity (``variation_exponent``), e.g. 1/2 i.i.d. with noise, 0 noise-free,
  (1 - 2a)/2 for noise decaying like t^-a. Measured exponents can be smaller (benign instances).
* OOMD strongly convex / exp-concave: form log (regret / log T must not grow polynomially).
* OGD, ONS (Hazan's textbook theorems, deterministic for every loss sequence): the event
  ``max_regret_ratio`` = max_t realized_regret_t / bound_t must be <= 1 (form count), with bound_t =
  (3/2) D G sqrt(t) (OGD convex), (G^2 / (2 lam)) (1 + log t) (OGD strongly convex),
  5 (1/alpha + G D) d log t for t >= 2 (ONS).
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from . import kernels
from .kernels import COLUMNS


def _play(instance: Instance, method: int, p: list, budget, rng):
    T = int(budget.iterations)
    records = np.full((kernels.capacity(T, int(budget.record_every)), len(COLUMNS)), np.nan)
    x = np.zeros(instance.dim)
    info = np.zeros(3, dtype=np.int64)
    seed = int(rng.integers(2**31 - 1))
    kernels.online_kernel(method, instance.oracles["schedule"], instance.data, T, int(budget.record_every),
                          seed, np.asarray(p, dtype=np.float64), float(instance.reference["sigma1_sq"]),
                          records, x, info)
    rows = int(info[0])
    records = records[:rows]
    columns = {name: records[:, k].copy() for k, name in enumerate(COLUMNS)}
    r = instance.reference
    columns["variation_bound"] = (r["D"] * (np.sqrt(columns["cum_sigma2"]) + np.sqrt(columns["cum_Sigma2"]))
                                  + r["L"] * r["D"] ** 2 + r["D"] * r["G"])
    return columns, x, info


def _result(columns, x, info, theory, events=None) -> Result:
    return Result(columns=columns, events=events or {}, status=int(info[1]), stop_iteration=int(info[2]),
                  theory=theory, final={"x": x})


def _variation_theory(instance: Instance, ok: bool = True, why: str = "") -> dict:
    e = float(instance.reference["variation_exponent"])
    return {"pseudo_regret": Theory("power", e, ok, why), "realized_regret": Theory("power", e, ok, why)}


def _componentwise(instance: Instance, what: str):
    """Return (ok, condition) for a theorem that needs every individual loss f_t to be ``what``."""
    ok = bool(instance.reference.get("components_convex", 1.0))
    return ok, "" if ok else f"individual losses are nonconvex (E3); the theorem needs every f_t {what}"


def _ratio_event(columns, bound_of_t) -> float:
    t = columns["T"]
    keep = np.isfinite(columns["realized_regret"])
    bound = bound_of_t(t[keep])
    ok = bound > 0
    return float(np.max(columns["realized_regret"][keep][ok] / bound[ok])) if ok.any() else math.nan


def run_oomd(instance: Instance, params: dict, budget, rng) -> Result:
    """Optimistic OMD, convex case (Chen, Zhang, Tu, Zhao, Zhang, ICML 2023 / JMLR 2024), Euclidean.

    x_t = Pi(xhat_t - eta_t M_t), xhat_{t+1} = Pi(xhat_t - eta_t g_t), M_t = g_{t-1} (M_1 = 0),
    eta_t = D / sqrt(delta + 4 G^2 + sum_{s<t} ||g_s - M_s||^2); the 4G^2 stands for the unseen round's
    ||g_t - M_t||^2 so that eta_t uses only the past. delta is [uncertain] in the spec: the default
    delta = 16 L^2 D^2 (delta_scale = 1) gives eta_t <= D / (4 L D) = 1/(4L), the step the stability
    argument needs to absorb 4 L^2 ||x_t - x_{t-1}||^2; smaller delta is reported outside theory.
    Bound: E R_T = O(sqrt(sigma^2_{1:T}) + sqrt(Sigma^2_{1:T})); convexity of the expected losses F_t
    suffices (JMLR version), so the bound applies under E3 whose individual losses are nonconvex.
    """
    r = instance.reference
    delta = params["delta_scale"] * 16.0 * r["L"] ** 2 * r["D"] ** 2
    columns, x, info = _play(instance, kernels.OOMD_CONVEX, [r["D"], delta, r["G"]], budget, rng)
    ok = params["delta_scale"] >= 1.0
    return _result(columns, x, info, _variation_theory(
        instance, ok, "" if ok else "delta < 16 L^2 D^2: eta_t <= 1/(4L) is not guaranteed"))


def run_oomd_sc(instance: Instance, params: dict, budget, rng) -> Result:
    """Optimistic OMD, lambda-strongly convex case (Chen et al.), eta_t = 2 / (lam (t + t0)).

    Same two projections as the convex case. The spec leaves t0 [uncertain] (t0 = 0 is the likely form of
    the paper); the default t0 = -1 means ceil(8 L / lam), which keeps eta_t <= 1/(4L) from the first
    round, as the convex case's stability argument needs; any t0 >= 0 may be given. Bound (JMLR):
    O((sigma^2_max + Sigma^2_max)/lam * log((sigma^2_{1:T} + Sigma^2_{1:T}) / (sigma^2_max + Sigma^2_max))).
    """
    r = instance.reference
    t0 = params["t0"] if params["t0"] >= 0 else math.ceil(8.0 * r["L"] / r["lam"])
    columns, x, info = _play(instance, kernels.OOMD_STRONGLY_CONVEX, [r["lam"], float(t0)], budget, rng)
    ok = r["lam"] > 0
    th = Theory("log", 0.0, ok, "" if ok else "the expected losses are not strongly convex (lam = 0)")
    return _result(columns, x, info, {"pseudo_regret": th, "realized_regret": th}, {"t0": float(t0)})


def run_oomd_exp(instance: Instance, params: dict, budget, rng) -> Result:
    """Optimistic OMD, alpha-exp-concave case (Chen et al.), time-varying Mahalanobis regularizer.

    x_t = Pi^{U_t}(xhat_t - U_t^-1 M_t), xhat_{t+1} = Pi^{U_t}(xhat_t - U_t^-1 g_t),
    U_t = delta I + (beta/2) sum_{s<t} g_s g_s^T, beta = (1/2) min(1/(4 G D), alpha), projections in the
    U_t-norm. delta is [uncertain]; default max(beta G^2, 1/(beta^2 D^2)): the first term is what the
    telescoping of the exp-concavity term needs, the second mirrors ONS. U_t^-1 by Sherman-Morrison.
    Bound: O(d log(sigma^2_{1:T} + Sigma^2_{1:T})).
    """
    r = instance.reference
    beta = 0.5 * min(1.0 / (4.0 * r["G"] * r["D"]), r["alpha"])
    delta = params["delta_scale"] * max(beta * r["G"] ** 2, 1.0 / (beta ** 2 * r["D"] ** 2))
    columns, x, info = _play(instance, kernels.OOMD_EXP_CONCAVE, [beta, delta], budget, rng)
    ok = r["alpha"] > 0 and delta >= beta * r["G"] ** 2
    why = "" if ok else "not exp-concave (alpha = 0) or delta < beta G^2"
    convex, why_c = _componentwise(instance, "exp-concave (the spec leaves open whether F_t suffices)")
    th = Theory("log", 0.0, ok and convex, why or why_c)
    return _result(columns, x, info, {"pseudo_regret": th, "realized_regret": th})


def run_ogd(instance: Instance, params: dict, budget, rng) -> Result:
    """Online gradient descent (Zinkevich 2003; Hazan, Introduction to OCO, Thms 3.1 and 3.3).

    x_{t+1} = Pi(x_t - eta_t g_t), eta_t = D / (G sqrt(t)) (convex: R_T <= (3/2) D G sqrt(T)) or
    1 / (lam t) (strongly convex: R_T <= G^2 / (2 lam) (1 + log T)). Not adaptive to sigma or Sigma.
    """
    r = instance.reference
    strongly = params["mode"] == "strongly_convex"
    columns, x, info = _play(instance, kernels.OGD, [float(strongly), r["D"], r["G"], r["lam"]], budget, rng)
    ok, why = _componentwise(instance, "strongly convex" if strongly else "convex")
    if strongly:
        bound = lambda t: r["G"] ** 2 / (2.0 * r["lam"]) * (1.0 + np.log(t))  # noqa: E731
        th = Theory("log", 0.0, ok, why)
    else:
        bound = lambda t: 1.5 * r["D"] * r["G"] * np.sqrt(t)  # noqa: E731
        th = Theory("power", 0.5, ok, why)
    theory = {"max_regret_ratio": Theory("count", 1.0, ok, why), "pseudo_regret": th, "realized_regret": th}
    return _result(columns, x, info, theory, {"max_regret_ratio": _ratio_event(columns, bound)})


def run_oftrl(instance: Instance, params: dict, budget, rng) -> Result:
    """Optimistic FTRL (Sachs, Hadiji, van Erven, Guzman, NeurIPS 2022, Thm 5), ball domain.

    x_t = argmin_x <sum_{s<t} g_s + M_t, x> + ||x||^2 / eta_t = Pi(-(eta_t/2)(sum_{s<t} g_s + M_t)),
    M_t = g_{t-1}, eta_t = D^2 / (nu + sum_{s<t} eta_s ||g_s - M_s||^2), nu = nu_scale (L D^2 + D G^2) (the
    paper's choice up to constants). The regularizer scaling 1/eta (vs 1/(2 eta)) is [uncertain] in the spec;
    1/eta is used. Bound: O(D (sigma_bar + Sigma_bar) sqrt(T) + D G + L D^2), for convex individual losses
    (outside theory under E3, whose components are nonconvex).
    """
    r = instance.reference
    nu = params["nu_scale"] * (r["L"] * r["D"] ** 2 + r["D"] * r["G"] ** 2)
    columns, x, info = _play(instance, kernels.OPTIMISTIC_FTRL, [r["D"], nu], budget, rng)
    convex = bool(r.get("components_convex", 1.0))
    return _result(columns, x, info, _variation_theory(
        instance, convex, "" if convex else "individual losses are nonconvex (Sachs et al. need every f_t convex)"))


def run_ons(instance: Instance, params: dict, budget, rng) -> Result:
    """Online Newton step (Hazan, Agarwal, Kale 2007; Hazan, Introduction to OCO, Thm 4.5).

    A_t = eps I + sum_{s<=t} g_s g_s^T, x_{t+1} = Pi^{A_t}(x_t - (1/gamma) A_t^-1 g_t),
    gamma = (1/2) min(1/(4 G D), alpha), eps = 1/(gamma^2 D^2). R_T <= 5 (1/alpha + G D) d log T.
    """
    r = instance.reference
    gamma = 0.5 * min(1.0 / (4.0 * r["G"] * r["D"]), r["alpha"])
    eps = 1.0 / (gamma ** 2 * r["D"] ** 2)
    columns, x, info = _play(instance, kernels.ONS, [gamma, eps], budget, rng)
    d = r["d"]
    bound = lambda t: np.where(t >= 2, 5.0 * (1.0 / r["alpha"] + r["G"] * r["D"]) * d * np.log(t), np.inf)  # noqa: E731
    ok, why = _componentwise(instance, "exp-concave")
    th = Theory("log", 0.0, ok, why)
    theory = {"max_regret_ratio": Theory("count", 1.0, ok, why), "pseudo_regret": th, "realized_regret": th}
    return _result(columns, x, info, theory, {"max_regret_ratio": _ratio_event(columns, bound)})
