"""Runners of the privacy family: calibrate the noise with an accountant, call ``diff2_kernel``, state theory.

Every ``run_*`` has the signature ``run(instance, params, budget, rng) -> Result``. The iteration budget of
the scenario caps R; with ``rounds = 0`` the run uses the theory-prescribed R* (family spec B.3/B.4),
which grows with N, and that is what the utility-versus-n slopes speak of:

* DP-GD: eta = 1/(2L), C = G, sigma^2 = 4R/(N^2 M*^2), R* = ceil((N M*/G) sqrt(L Delta_f/d)), and
  U = (1/R) sum_r ||grad f(x_r)||^2 <= 4 L Delta_f/R + d C^2 sigma^2 <= 8 G sqrt(L Delta_f d)/(N M*):
  slope -1 in N (Abadi et al. 2016 style analysis; O~(sqrt d/(N eps))).
* DIFF2-GD: eta = 1/(2L), C1 = G, C2 = L, u = 1.25, R* = ceil((a/(2b))^(1/3)) with a = 4 L Delta_f,
  b = 8 u^2 d^2 G^2/((u - 1) N^4 M*^4), T* = max(1, floor((u - 1) N^2 M*^2/(2 u d R*))), and
  U <= (3/2^(2/3)) a^(2/3) b^(1/3): slope -4/3 in N (O~(d^(2/3)/(N eps)^(4/3))).

Delta_f is bounded by F0 = f(x_0) (the loss is nonnegative). M*^2 comes from the accountant
(``accounting.max_M2``). A run whose R, T, radii or step differ from the theory values, or that is
capped by the iteration budget, is reported "outside theory" for the slope.

Events: ``utility`` (final U), ``utility_bound`` (the bound's value with these constants), ``utility_ratio``
= U / utility_bound, ``rounds_used``, ``period``, ``sigma_1``, ``sigma_2``, ``epsilon_spent`` (the
accountant's epsilon for the noise actually used, <= epsilon), ``crossover_N`` = sqrt(d L Delta_f
log(1/delta))/(G epsilon) (family spec B.6: DIFF2's bound is below DP-GD's for N beyond it, in orders).
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from ..kernels.recording import capacity
from . import accounting, kernels
from .kernels import COLUMNS


def dpgd_theory_rounds(N: int, M2: float, G: float, L: float, F0: float, d: int) -> int:
    return max(1, math.ceil(N * math.sqrt(M2) / G * math.sqrt(L * F0 / d)))


def diff2_theory(N: int, M2: float, G: float, L: float, F0: float, d: int, u: float):
    """Return (R*, T*, bound on U) of DIFF2-GD's admissible theory parameters."""
    a = 4.0 * L * F0
    b = 8.0 * u * u * d * d * G * G / ((u - 1.0) * N ** 4 * M2 * M2)
    R = max(1, math.ceil((a / (2.0 * b)) ** (1.0 / 3.0)))
    T = max(1, math.floor((u - 1.0) * N * N * M2 / (2.0 * u * d * R)))
    return R, T, 3.0 / 2.0 ** (2.0 / 3.0) * a ** (2.0 / 3.0) * b ** (1.0 / 3.0)


def _kernel_run(instance, eta, period, C1, C2, s1, s2, rounds, record_every, rng):
    d = instance.dim
    x = np.zeros(d)
    records = np.full((capacity(rounds, record_every) + 1, len(COLUMNS)), np.nan)
    info = np.zeros(3, dtype=np.int64)
    kernels.diff2_kernel(instance.oracles["sample_grad"], instance.data, x, float(eta), int(period),
                         float(C1), float(C2), float(s1), float(s2), int(rounds), int(record_every),
                         int(rng.integers(2 ** 31 - 1)), records, info)
    rows = int(info[0])
    columns = {c: records[:rows, j].copy() for j, c in enumerate(COLUMNS)}
    return columns, x, info


def _constants(instance, params):
    ref = instance.reference
    G, L, F0 = ref["G"], ref["L"], ref["F0"]
    N, d = int(ref["N"]), instance.dim
    C1 = params["clip"] if params["clip"] > 0 else G
    eta = (params["step"] if params["step"] > 0 else 0.5) / L
    M2 = accounting.max_M2(params["epsilon"], params["delta"], params["accountant"])
    return G, L, F0, N, d, C1, eta, M2


def _conditions(G, L, C1, eta, extra) -> str:
    conds = list(extra)
    if C1 < G:
        conds.append(f"clip C1 = {C1:g} < G = {G:.3g} (clipping active)")
    if eta > 0.5 / L * (1 + 1e-12):
        conds.append(f"eta L = {eta * L:g} > 1/2")
    return "; ".join(conds)


def _events(params, G, L, F0, N, d, U, bound, R, T, s1, s2, M2_used):
    eps, delta = params["epsilon"], params["delta"]
    return {"utility": U, "utility_bound": bound, "utility_ratio": U / bound if bound > 0 else math.nan,
            "rounds_used": float(R), "period": float(T), "sigma_1": s1, "sigma_2": s2,
            "epsilon_spent": accounting.epsilon(M2_used, delta, params["accountant"], target_epsilon=eps),
            "crossover_N": math.sqrt(d * L * F0 * math.log(1.0 / delta)) / (G * eps)}


def run_dp_gd(instance: Instance, params: dict, budget, rng) -> Result:
    """DP-GD (Abadi et al. 2016; Bassily, Smith, Thakurta 2014), the baseline of the DIFF2 paper.

    Update: v_r = mean_s clip_C(grad l(x_r; z_s)) + C sigma xi_r, x_{r+1} = x_r - eta v_r, with
    sigma^2 = 4R/(N^2 M*^2) from the accountant (replace-one sensitivity 2C/N, central noise). Bound:
    (1/R) sum ||grad f(x_r)||^2 = O(G sqrt(L Delta_f d log(1/delta))/(N eps)), slope -1 in N at R = R*.
    """
    G, L, F0, N, d, C1, eta, M2 = _constants(instance, params)
    R_theory = dpgd_theory_rounds(N, M2, G, L, F0, d)
    R = params["rounds"] if params["rounds"] > 0 else R_theory
    extra = []
    if params["rounds"] > 0:
        extra.append(f"rounds fixed at {R} (the slope needs R = R*(N))")
    if R > budget.iterations:
        extra.append(f"R* = {R} capped by the iteration budget {budget.iterations}")
        R = budget.iterations
    sigma = accounting.dpgd_sigma(params["epsilon"], params["delta"], R, N, params["accountant"])
    columns, x, info = _kernel_run(instance, eta, 1, C1, math.inf, sigma, 0.0, R,
                                   max(1, min(budget.record_every, R // 10 or 1)), rng)
    U = float(columns["utility"][-1])
    # U <= 4 L Delta_f/R + d C^2 sigma^2 (descent lemma with eta = 1/(2L))
    bound = 4.0 * L * F0 / R + d * C1 * C1 * sigma * sigma
    cond = _conditions(G, L, C1, eta, extra)
    result = Result(columns=columns, status=int(info[1]), stop_iteration=int(info[2]), final={"x": x},
                    theory={"utility": Theory("power", -1.0, cond == "", cond)})
    result.events = _events(params, G, L, F0, N, d, U, bound, R, 1, sigma, 0.0,
                            accounting.composed_M2(N, [(sigma, R)]))
    return result


def run_diff2(instance: Instance, params: dict, budget, rng) -> Result:
    """DIFF2-GD (Murata and Suzuki, "DIFF2: Differential Private Optimization via Gradient Differences for
    Nonconvex Distributed Learning", ICML 2023): private gradient differences with periodic restarts.

    Update: every T rounds v_r = mean_s clip_{C1}(grad l(x_r; z_s)) + C1 sigma_1 xi; otherwise
    v_r = v_{r-1} + mean_s clip_{C2 ||x_r - x_{r-1}||}(grad l(x_r; z_s) - grad l(x_{r-1}; z_s))
    + C2 ||x_r - x_{r-1}|| sigma_2 xi; x_{r+1} = x_r - eta v_r. Noise: sigma_1^2 = 4u ceil(R/T)/(N^2 M*^2),
    sigma_2^2 = 4uR/((u - 1) N^2 M*^2). Bound: O~(d^(2/3)/(N eps)^(4/3)), slope -4/3 in N at (R*, T*).
    """
    G, L, F0, N, d, C1, eta, M2 = _constants(instance, params)
    C2 = params["clip_diff"] if params["clip_diff"] > 0 else L
    u = params["u"]
    R_theory, T_theory, bound_theory = diff2_theory(N, M2, G, L, F0, d, u)
    R = params["rounds"] if params["rounds"] > 0 else R_theory
    extra = []
    if params["rounds"] > 0:
        extra.append(f"rounds fixed at {R} (the slope needs R = R*(N))")
    if R > budget.iterations:
        extra.append(f"R* = {R} capped by the iteration budget {budget.iterations}")
        R = budget.iterations
    if params["period"] > 0:
        T = params["period"]
        extra.append(f"period fixed at {T} (the slope needs T = T*(N))")
    else:
        T = max(1, math.floor((u - 1.0) * N * N * M2 / (2.0 * u * d * R)))
    if C2 < L:
        extra.append(f"clip_diff C2 = {C2:g} < L = {L:g} (difference clipping active)")
    s1, s2, restarts = accounting.diff2_sigmas(params["epsilon"], params["delta"], R, T, N, u,
                                               params["accountant"], params["calibration"])
    if params["calibration"] == "code":
        extra.append("calibration = code (R/T restarts: can overspend epsilon)")
    columns, x, info = _kernel_run(instance, eta, T, C1, C2, s1, s2 if math.isfinite(s2) else 0.0, R,
                                   max(1, min(budget.record_every, R // 10 or 1)), rng)
    U = float(columns["utility"][-1])
    bound = bound_theory if (params["rounds"] <= 0 and params["period"] <= 0) else math.nan
    cond = _conditions(G, L, C1, eta, extra)
    result = Result(columns=columns, status=int(info[1]), stop_iteration=int(info[2]), final={"x": x},
                    theory={"utility": Theory("power", -4.0 / 3.0, cond == "", cond)})
    pairs = [(s1, restarts)] + ([(s2, R - restarts)] if T > 1 else [])
    result.events = _events(params, G, L, F0, N, d, U, bound, R, T, s1, s2, accounting.composed_M2(N, pairs))
    return result


def run_gd(instance: Instance, params: dict, budget, rng) -> Result:
    """Non-private full-batch GD (epsilon = infinity), the optimisation-error reference.

    Update: x_{r+1} = x_r - eta (1/N) sum_s grad l(x_r; z_s), eta = 1/(2L) by default; no clipping, no
    noise. Bound: (1/R) sum ||grad f(x_r)||^2 <= 4 L Delta_f/R (slope -1 in R; with R fixed, U does not
    depend on N except through the data).
    """
    ref = instance.reference
    L = ref["L"]
    eta = (params["step"] if params["step"] > 0 else 0.5) / L
    R = params["rounds"] if params["rounds"] > 0 else budget.iterations
    columns, x, info = _kernel_run(instance, eta, 1, math.inf, math.inf, 0.0, 0.0, R,
                                   max(1, budget.record_every), rng)
    U = float(columns["utility"][-1])
    bound = 4.0 * L * ref["F0"] / R
    ok = eta <= 0.5 / L * (1 + 1e-12)
    return Result(columns=columns, status=int(info[1]), stop_iteration=int(info[2]), final={"x": x},
                  events={"utility": U, "utility_bound": bound, "utility_ratio": U / bound if ok else math.nan,
                          "rounds_used": float(R)})
