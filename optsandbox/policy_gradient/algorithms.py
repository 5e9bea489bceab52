"""Runners of the policy-gradient family: allocate, call :func:`kernels.pg_kernel`, evaluate, state the theory.

Each ``run_*`` has the signature ``run(instance, params, budget, rng) -> Result``. ``budget.iterations`` is
read as a **trajectory budget** by default (``budget_unit = "trajectories"``): the methods that sample two
trajectories per iteration (N-HARPG, HARPG) then run half as many iterations, and every method of a
scenario spends the same number of samples -- the axis the theorems speak about. ``budget_unit =
"iterations"`` reads it as an iteration count instead. ``record_every`` counts iterations.

Recorded columns: ``iteration``, ``trajectories`` (= ``oracle_calls``, samples spent *before* iteration t,
i.e. the samples that produced theta_t), ``env_steps``, ``hvps``, ``guard_hits``, ``direction_norm``, and
the exact metrics of theta_t (``subopt``, ``grad_norm_sq``, ``dist_to_opt_sq``) computed afterwards in
NumPy/SciPy from the recorded iterates (spec section 0).

Theory (``Result.theory["subopt"]``, exponent p of subopt ~ trajectories^p, spec section 8):

=============  =============================  ==========================
algorithm      paper bound (exponent-1 GD)     PL-regime heuristic [derived]
=============  =============================  ==========================
n_pg_igt       -2/5  (eps^-2.5 samples)       -4/5
n_harpg        -1/2  (eps^-2 samples)         -1
vanilla_pg     -1/3  (Yuan et al. 2022)       -2/3
nsgdm          -1/3  [derived]                -2/3
harpg          none: "outside theory"         none
=============  =============================  ==========================

Choices made for the spec's [uncertain] items (and why):

* Indexing: t starts at 0, theta_{-1} = theta_0 and d_0 = g_0 for every momentum method (the authors' code;
  with theta_{-1} = theta_0 IGT's first extrapolation is void and HARPG needs no Hessian at t = 0).
* Theorem constants are unknown, so only exponents are checked; gamma_0 is a scenario parameter chosen from
  the travel budget sum_t gamma_t ~ 2 gamma_0 ln T >= ||theta_0 - theta*|| (spec section 4, pitfall 5).
* HARPG (un-normalized) has no stated rate: its bound is reported "outside theory", never faked.
* The theorems assume Fisher non-degeneracy; the tabular softmax violates it (F is always singular), so
  its runs are "outside theory" (spec section 1.3). Deterministic ``exact_oracles`` runs are also outside
  the stochastic theorems.
* Truncation: estimators are unbiased for J_H, metrics use J; builders choose H so that the truncation bias
  (``reference["truncation_bias"]``) is far below the plotted range.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from ..kernels.recording import capacity
from . import kernels
from .kernels import COLUMNS
from .oracles import TABULAR
from .problems import exact_metrics

EXPONENTS = {  # method -> (paper bound, PL-regime heuristic)
    kernels.N_PG_IGT: (-0.4, -0.8),
    kernels.N_HARPG: (-0.5, -1.0),
    kernels.VANILLA_PG: (-1.0 / 3.0, -2.0 / 3.0),
    kernels.NSGDM: (-1.0 / 3.0, -2.0 / 3.0),
}
HVP_MODES = {"full": kernels.HVP_FULL, "causal": kernels.HVP_CAUSAL}


def oracles_of(instance: Instance) -> tuple:
    o = instance.oracles
    return (o["reset"], o["act"], o["step"], o["score_add"], o["hess_add"], o["admissible"], o["exact_grad"],
            o["exact_hvp"])


def run_kernel(instance: Instance, method: int, params: dict, iterations: int, record_every: int, seed: int,
               budget_unit: str = "trajectories"):
    """Call :func:`kernels.pg_kernel`; return (records, thetas, directions, theta_T, info) trimmed to the rows."""
    gamma0 = float(params.get("gamma0", 0.1))
    eta0 = float(params.get("eta0", 1.0))
    if not 0.0 < eta0 <= 1.0:
        raise ValueError(f"eta0 = {eta0}: the momentum weight must satisfy 0 < eta0 <= 1")
    if bool(params.get("exact_oracles", False)) and not np.isfinite(
            _probe_exact(instance)):
        raise ValueError("exact_oracles = true: this problem has no closed-form gradient oracle "
                         "(only the bandits do)")
    d = instance.dim
    if budget_unit == "trajectories":
        max_iterations, max_trajectories = int(iterations), int(iterations)
    else:
        max_iterations, max_trajectories = int(iterations), 2 ** 62
    rows_max = capacity(max_iterations, record_every) + 1
    records = np.full((rows_max, len(COLUMNS)), np.nan)
    thetas = np.full((rows_max, d), np.nan)
    directions = np.full((rows_max, d), np.nan)
    theta = np.empty(d)
    info = np.zeros(7, dtype=np.int64)
    theta0 = np.ascontiguousarray(instance.reference["theta0"], dtype=np.float64)
    kernels.pg_kernel(method, *oracles_of(instance), instance.data, theta0, gamma0, eta0,
                      HVP_MODES[params.get("hvp_estimator", "full")], params.get("estimator", "gpomdp") == "reinforce",
                      bool(params.get("exact_oracles", False)),
                      params.get("igt_guard", "fallback") == "fallback", bool(params.get("igt_eta_lag", False)),
                      max_iterations, max_trajectories, int(record_every), int(seed), records, thetas,
                      directions, theta, info)
    rows = int(info[0])
    return records[:rows], thetas[:rows], directions[:rows], theta, info


def _probe_exact(instance: Instance) -> float:
    out = np.empty(instance.dim)
    theta0 = np.ascontiguousarray(instance.reference["theta0"], dtype=np.float64)
    instance.oracles["exact_grad"](theta0, instance.data, out)
    return float(out.sum())


def _theory(instance: Instance, method: int, params: dict) -> dict:
    regime = params.get("regime", "paper")
    if method not in EXPONENTS:
        return {"subopt": Theory("power", math.nan, applicable=False,
                                 condition="no theorem for un-normalized HARPG (spec section 6)")}
    paper, heuristic = EXPONENTS[method]
    value = paper if regime == "paper" else heuristic
    if int(instance.data[0]) == TABULAR:
        return {"subopt": Theory("power", value, applicable=False,
                                 condition="softmax Fisher matrix is singular (Fisher non-degeneracy fails)")}
    if params.get("exact_oracles", False):
        return {"subopt": Theory("power", value, applicable=False,
                                 condition="exact oracles: the theorems bound the stochastic method")}
    return {"subopt": Theory("power", value)}


def run_method(instance: Instance, method: int, params: dict, budget, rng) -> Result:
    seed = int(rng.integers(2 ** 31 - 1))
    records, thetas, directions, theta, info = run_kernel(
        instance, method, params, budget.iterations, budget.record_every, seed,
        params.get("budget_unit", "trajectories"))
    columns = {name: records[:, k].copy() for k, name in enumerate(COLUMNS)}
    columns["oracle_calls"] = columns["trajectories"].copy()
    columns.update(exact_metrics(instance, thetas))
    events = {"iterations": float(info[3]), "trajectories": float(info[4]), "hvps": float(info[5]),
              "guard_hits": float(info[6]), "final_subopt": float(columns["subopt"][-1])}
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]),
                  theory=_theory(instance, method, params), final={"theta": theta})


def run_n_pg_igt(instance: Instance, params: dict, budget, rng) -> Result:
    """N-PG-IGT: normalized policy gradient with implicit gradient transport (Fatkhullin et al., ICML 2023).

    eta_t = eta0 (2/(t+2))^{4/5}, gamma_t = gamma0 2/(t+2); theta~_t = theta_t + (1-eta_t)/eta_t
    (theta_t - theta_{t-1}); one trajectory at theta~_t gives g_t = g_G(tau_t, theta~_t);
    d_t = (1-eta_t) d_{t-1} + eta_t g_t (d_0 = g_0); theta_{t+1} = theta_t + gamma_t d_t/||d_t||.
    Transport is exact for quadratic J: with exact gradients d_t = grad J(theta_t). ``igt_guard = "fallback"``
    samples at theta_t when theta~_t is not admissible (LQR; counted in guard_hits); ``igt_eta_lag`` uses
    eta_{t-1} in the extrapolation, as the authors' code does. Bound: subopt = O(T^{-2/5}).
    """
    return run_method(instance, kernels.N_PG_IGT, params, budget, rng)


def run_n_harpg(instance: Instance, params: dict, budget, rng) -> Result:
    """N-HARPG: normalized Hessian-aided recursive policy gradient (Fatkhullin et al., ICML 2023).

    eta_t = eta0 2/(t+2), gamma_t = gamma0 2/(t+2); q_t ~ U[0,1], theta^_t = q_t theta_t + (1-q_t) theta_{t-1};
    independent tau_t ~ pi_{theta_t}, tau^_t ~ pi_{theta^_t}; v_t = B(tau^_t, theta^_t)(theta_t - theta_{t-1})
    with the per-trajectory estimator B v = g_G <S, v> + sum_t psi_t hess log pi v;
    d_t = (1-eta_t)(d_{t-1} + v_t) + eta_t g_G(tau_t, theta_t) (d_0 = g_0);
    theta_{t+1} = theta_t + gamma_t d_t/||d_t||. Two trajectories and one HVP per iteration (one at t = 0).
    Bound: subopt = O(T^{-1/2}), i.e. O~(eps^-2) trajectories.
    """
    return run_method(instance, kernels.N_HARPG, params, budget, rng)


def run_harpg(instance: Instance, params: dict, budget, rng) -> Result:
    """HARPG: the un-normalized Hessian-aided recursive policy gradient (Fatkhullin et al., ICML 2023; code
    key ``stormhess``). Same recursion as N-HARPG, step theta_{t+1} = theta_t + gamma_t d_t with
    gamma_t = gamma0 (2/(t+2))^{1/2}, eta_t = eta0 2/(t+2). No rate is stated for it: "outside theory".
    """
    return run_method(instance, kernels.HARPG, params, budget, rng)


def run_vanilla_pg(instance: Instance, params: dict, budget, rng) -> Result:
    """Vanilla PG: stochastic gradient ascent with the GPOMDP estimator (Williams 1992; Baxter & Bartlett
    2001), theta_{t+1} = theta_t + gamma_t g_G(tau_t, theta_t), gamma_t = gamma0 (2/(t+2))^{2/3} (the authors'
    code schedule). Global rate O~(eps^-3) samples under exponent-1 gradient domination (Yuan, Gower, Lazaric
    et al., AISTATS 2022): subopt = O(T^{-1/3}).
    """
    return run_method(instance, kernels.VANILLA_PG, params, budget, rng)


def run_nsgdm(instance: Instance, params: dict, budget, rng) -> Result:
    """NSGDM: normalized momentum policy gradient (Cutkosky & Mehta 2020 applied to PG; the authors' ``nsgdm``).

    d_t = (1-eta_t) d_{t-1} + eta_t g_G(tau_t, theta_t) (d_0 = g_0), theta_{t+1} = theta_t + gamma_t
    d_t/||d_t||, gamma_t = gamma0 2/(t+2), eta_t = eta0 (2/(t+2))^{2/3}: N-PG-IGT without transport.
    Heuristic rate [derived]: subopt = O(T^{-1/3}).
    """
    return run_method(instance, kernels.NSGDM, params, budget, rng)
