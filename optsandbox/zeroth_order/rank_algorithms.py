"""Runners of ZO-RankSGD and its baselines: allocate, call :func:`rank_kernels.rank_kernel`, state the theory.

Theory (spec A.6, [derived]; the paper's exact theorem is [uncertain], so the bounds below are the derived
descent bound and labelled so). With c_1 = E<g, u>, c_2 = E||g||^2 (see :mod:`rank_theory`):

* constant step eta = eta0/sqrt(T): (1/T) sum_{t<T} E||grad f(x_t)|| <= (f_0 - f*)/(eta c_1 T)
  + L eta c_2/(2 c_1). Its exponent in T is -1/2 (event ``avg_grad_norm``, a sweep over ``horizon``), its
  exponent in d is d s/(2 c_2) + e/2 with f_0 - f* ~ d^e (-> (1 + e)/2 for large d; event
  ``avg_grad_norm_d``, a sweep over ``dim``), and its value is checked as the count bound
  ``avg_grad_norm_over_bound <= 1``.
* eta_t = eta0/sqrt(t+1): the eta-weighted running average (column ``weighted_avg_grad_norm``) is at most
  [(f_0 - f*) + (L c_2/2) sum eta_s^2]/(c_1 sum eta_s): -1/2 up to a log factor; the theory exponent is the
  bound's own log-log slope over the fitted tail window.

The bound neglects the rank-flip bias of a finite mu (order mu L d/||grad f||, spec A.3); it is declared
inapplicable when mu L d exceeds 5 % of the bound (the gradient level the run is held to), when f is not
globally L-smooth (L = inf), or when the step does not follow the theorem's schedule.

[uncertain] items settled here: (1) the 1/mu factor: g carries none (spec A.2); with the paper's 1/mu
convention a step eta_paper equals eta_here * mu. (2) min E||grad f|| versus E||grad f||^2: the checks are
on the average of ||grad f(x_t)|| (the first moment the descent argument bounds; ``min_grad_norm`` is
recorded too). (3) the theorem's step: the derived optimum eta* (``eta0 = 0``). (4) noisy rankings: no
bound is claimed (``rank_noise`` or ``flip_prob`` > 0 makes the theory inapplicable).
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from ..kernels.recording import capacity
from . import rank_kernels as K
from . import rank_theory as th

SCHEDULES = {"constant": 0, "inv_sqrt": 1}


def _horizon(params: dict, budget) -> int:
    return int(params.get("horizon", 0) or budget.iterations)


def _check_mk(m: int, k: int) -> None:
    """Reject k > m: the kernels index the top-k list of m points without bounds checks (numba), so an
    unchecked k = 10 with m = 5 (the default k after ``--set algorithm.m=5``) read past the buffer and
    crashed the process instead of reporting an error."""
    if not 1 <= int(k) <= int(m):
        raise ValueError(f"k = {k} must lie in 1..m (m = {m}): the oracle returns the top k of m points")


def call_kernel(instance: Instance, method: int, *, eta0: float, schedule: int, mu: float, m: int, k: int,
                code_weights: bool = False, noise: float = 0.0, flip: float = 0.0, radius: float = 0.0,
                n_line: int = 0, T: int,
                record_every: int, seed: int):
    """Run the kernel; return (records trimmed, x_T, info, stats)."""
    _check_mk(m, k)
    d = instance.dim
    records = np.full((capacity(T, record_every) + 1, len(K.COLUMNS)), np.nan)
    x = np.empty(d)
    info = np.zeros(3, dtype=np.int64)
    stats = np.zeros(K.N_STATS)
    o = instance.oracles
    x0 = np.ascontiguousarray(instance.reference["x0"], dtype=np.float64)
    K.rank_kernel(method, o["value"], o["grad"], instance.data, x0, float(eta0), int(schedule), float(mu),
                  int(m), int(k), bool(code_weights), float(noise), float(flip), float(radius), int(n_line),
                  float(instance.reference["f_star"]), int(T), int(record_every), np.random.default_rng(seed),
                  records, x, info, stats)
    return records[:int(info[0])], x, info, stats


def _result(records, x, info, stats, theory: dict, extra_events: dict | None = None,
            drop: tuple = ()) -> Result:
    columns = {name: records[:, j].copy() for j, name in enumerate(K.COLUMNS) if name not in drop}
    n = stats[2]
    align = stats[0] / n if n > 0 else math.nan
    sq = stats[1] / n if n > 0 else math.nan
    events = {"avg_grad_norm": stats[3], "avg_grad_norm_d": stats[3], "min_grad_norm": stats[4],
              "weighted_avg_grad_norm": stats[5], "estimator_alignment": align, "estimator_sq_norm": sq,
              "noise_to_signal": sq / align ** 2 if align and math.isfinite(align) else math.nan,
              "final_f_gap": float(records[-1, 5]) if len(records) else math.nan}
    if extra_events:
        events.update(extra_events)
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]),
                  theory=theory, final={"x": x})


def _rank_theory(instance: Instance, params: dict, T: int, pairs: bool):
    """Return (eta0 used, theory dict, events with the theory's constants)."""
    ref = instance.reference
    d = instance.dim
    m, k = params["m"], (params["m"] if pairs else params["k"])
    L, gap0 = float(ref["L"]), float(ref["gap0"])
    # The constants of the estimator actually run: code_weights changes both c_1 and c_2 (spec A.4).
    code = bool(params.get("code_weights", False)) and not pairs
    c_1, c_2 = th.c1(m, k, pairs, code), th.c2(m, k, d, pairs, code)
    schedule = params["schedule"]
    smooth = math.isfinite(L)
    eta0 = params["eta0"]
    if eta0 <= 0:
        if not smooth:
            raise ValueError(f"eta0 = 0 asks for the derived step, which needs a finite L; the problem has "
                             f"L = {L}: set eta0 > 0")
        eta0 = (math.sqrt(2.0 * gap0 / (L * c_2)) if schedule == "constant"
                else th.weighted_optimal_eta0(gap0, L, c_2, T))
    events = {"c1": c_1, "c2": c_2, "noise_to_signal_theory": c_2 / c_1 ** 2, "eta0": eta0}
    theory = {}
    if not smooth:
        why = "f is not globally L-smooth (L = inf): no rate theorem applies"
        for name in ("avg_grad_norm", "avg_grad_norm_d", "avg_grad_norm_over_bound", "weighted_avg_grad_norm",
                     "weighted_over_bound"):
            theory[name] = Theory("power", math.nan, False, why)
        return eta0, theory, events
    if params.get("rank_noise", 0.0) > 0:
        noisy = f"rank_noise = {params['rank_noise']:g} > 0: the descent bound assumes exact rankings"
    elif params.get("flip_prob", 0.0) > 0:
        noisy = f"flip_prob = {params['flip_prob']:g} > 0: the descent bound assumes exact rankings"
    else:
        noisy = ""
    if schedule == "constant":
        eta = eta0 / math.sqrt(T)
        bound = th.constant_bound(gap0, L, c_1, c_2, eta, T)
        events["avg_grad_norm_bound"] = bound
        flip = params["mu"] * L * d
        cond = noisy or (f"mu L d = {flip:.3g} exceeds 5% of the bound {bound:.3g} (rank-flip bias)"
                         if flip > 0.05 * bound else "")
        ok = not cond
        # Local log-log slope in d of the bound B = A + V, A = (f_0 - f*)/(eta c_1 T) ~ d^e and
        # V = L eta c_2/(2 c_1) with c_2 = (d - 1) s + q: d B'/B = (e A + V d s/c_2)/B. With the derived step
        # (A = V) this is e/2 + d s/(2 c_2) (1/2 only as d -> inf); it also holds for a hand-set eta0, whose
        # bound is not sqrt(c_2 (f_0 - f*)). A d-sweep's verdict uses the median over its runs.
        part_gap = gap0 / (eta * c_1 * T)
        part_var = L * eta * c_2 / (2.0 * c_1)
        e_gap = float(ref.get("gap_dim_exponent", 1.0))
        exp_d = (e_gap * part_gap + part_var * d * th.s_orth(m, k, pairs, code) / c_2) / (part_gap + part_var)
        theory["avg_grad_norm"] = Theory("power", -0.5, ok, cond)
        theory["avg_grad_norm_d"] = Theory("power", exp_d, ok, cond)
        theory["avg_grad_norm_over_bound"] = Theory("count", 1.0, ok, cond)
        no = "schedule = constant: the weighted-average bound is stated for eta_t = eta0/sqrt(t+1)"
        theory["weighted_avg_grad_norm"] = Theory("power", math.nan, False, no)
        theory["weighted_over_bound"] = Theory("count", math.nan, False, no)
    else:
        bound = float(th.weighted_bound(gap0, L, c_1, c_2, eta0, np.array([T]))[0])
        events["weighted_bound"] = bound
        flip = params["mu"] * L * d
        cond = noisy or (f"mu L d = {flip:.3g} exceeds 5% of the bound {bound:.3g} (rank-flip bias)"
                         if flip > 0.05 * bound else "")
        ok = not cond
        slope = th.weighted_bound_slope(gap0, L, c_1, c_2, eta0, T)
        theory["weighted_avg_grad_norm"] = Theory("power", slope, ok, cond)
        theory["weighted_over_bound"] = Theory("count", 1.0, ok, cond)
        no = "schedule = inv_sqrt: the T-sweep bound is stated for the constant step eta0/sqrt(T)"
        for name in ("avg_grad_norm", "avg_grad_norm_d", "avg_grad_norm_over_bound"):
            theory[name] = Theory("power", math.nan, False, no)
    return eta0, theory, events


def _run_ranking(instance: Instance, params: dict, budget, rng, pairs: bool) -> Result:
    T = _horizon(params, budget)
    _check_mk(params["m"], params["m"] if pairs else params["k"])
    eta0, theory, events = _rank_theory(instance, params, T, pairs)
    schedule = SCHEDULES[params["schedule"]]
    eta_kernel = eta0 / math.sqrt(T) if schedule == 0 else eta0
    m = params["m"]
    if pairs and m % 2:
        raise ValueError(f"m = {m}: the pairwise variant splits the m points into pairs; m must be even")
    records, x, info, stats = call_kernel(
        instance, K.PAIRS if pairs else K.RANK, eta0=eta_kernel, schedule=schedule, mu=params["mu"], m=m,
        k=m if pairs else params["k"], code_weights=params.get("code_weights", False),
        noise=params["rank_noise"], flip=params.get("flip_prob", 0.0), T=T, record_every=budget.record_every,
        seed=int(rng.integers(2 ** 31 - 1)))
    if "avg_grad_norm_bound" in events:
        events["avg_grad_norm_over_bound"] = stats[3] / events["avg_grad_norm_bound"]
    if "weighted_bound" in events:
        events["weighted_over_bound"] = stats[5] / events["weighted_bound"]
    return _result(records, x, info, stats, theory, events)


def run_zo_ranksgd(instance: Instance, params: dict, budget, rng) -> Result:
    """ZO-RankSGD (Tang, Rybin, Chang, ICLR 2024): descent from (m, k)-ranking feedback only.

    Each iteration draws xi_1..xi_m ~ N(0, I), asks the ranking oracle for the top-k of x_t + mu xi_i,
    forms the DAG estimator g_t = (1/|E|) sum_i w_i xi_i (w = 2r - (m - 1) for the returned point of rank
    r, +k for the unreturned ones, |E| = k(k-1)/2 + k(m-k)) and steps x_{t+1} = x_t - eta_t g_t, with
    eta_t = eta0/sqrt(T) or eta0/sqrt(t+1); eta0 = 0 selects the derived optimum. One ranking call = m
    function evaluations, both counted.
    """
    return _run_ranking(instance, params, budget, rng, pairs=False)


def run_zo_rank_pairs(instance: Instance, params: dict, budget, rng) -> Result:
    """ZO-RankSGD with the pairwise (2, 1) oracle only, the m points split into m/2 disjoint pairs.

    Tang et al. (ICLR 2024), the pairwise special case: g_t = (2/m) sum_pairs (xi_worse - xi_better), same
    step rule as ZO-RankSGD. Same m evaluations per iteration as a full ranking of m points, so it isolates
    the variance advantage of revealing the full order (s = 4/m against 4(m+1)/(3m(m-1)) per coordinate).
    """
    return _run_ranking(instance, params, budget, rng, pairs=True)


def run_zo_sgd(instance: Instance, params: dict, budget, rng) -> Result:
    """Two-point Gaussian ZO-SGD (Nesterov-Spokoiny 2017; Ghadimi-Lan 2013), function values.

    g_t = (1/q) sum_{j=1}^q (f(x_t + mu u_j) - f(x_t))/mu u_j with u_j ~ N(0, I), q = m - 1 (m evaluations
    per iteration with the centre), x_{t+1} = x_t - eta g_t. eta = 0 selects q/(4 (d + 4) L), the
    Nesterov-Spokoiny step scaled by the q-sample variance reduction ([uncertain: constants]). Baseline:
    no rate check is attached.
    """
    T = _horizon(params, budget)
    L = float(instance.reference["L"])
    eta = params["eta"]
    q = params["m"] - 1
    if eta <= 0:
        if not math.isfinite(L):
            raise ValueError("eta = 0 asks for q/(4 (d + 4) L), which needs a finite L: set eta > 0")
        eta = q / (4.0 * (instance.dim + 4) * L)
    records, x, info, stats = call_kernel(instance, K.ZO_SGD, eta0=eta, schedule=0, mu=params["mu"],
                                          m=params["m"], k=1, T=T, record_every=budget.record_every,
                                          seed=int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, stats, {}, {"eta": eta}, drop=("rank_calls", "points_ranked"))


def run_comparison_sign(instance: Instance, params: dict, budget, rng) -> Result:
    """Comparison-sign descent (SCOBO of Cai et al. 2022 without sparsity; comparisons against the centre).

    g_t = (1/q) sum_j sign(f(x_t + mu u_j) - f(x_t)) u_j, q = m - 1 pairwise comparisons with the centre
    (m points), x_{t+1} = x_t - eta_t g_t with the same eta schedule as ZO-RankSGD (eta0 must be given).
    """
    T = _horizon(params, budget)
    schedule = SCHEDULES[params["schedule"]]
    eta0 = params["eta0"]
    eta_kernel = eta0 / math.sqrt(T) if schedule == 0 else eta0
    records, x, info, stats = call_kernel(instance, K.COMPARISON_SIGN, eta0=eta_kernel, schedule=schedule,
                                          mu=params["mu"], m=params["m"], k=1, T=T,
                                          record_every=budget.record_every,
                                          seed=int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, stats, {})


def run_gld(instance: Instance, params: dict, budget, rng) -> Result:
    """Gradientless descent (Golovin et al. 2020): comparisons only, geometric radii.

    Candidates x_t + v_j with v_j uniform on the sphere of radius R 2^-j, j = 0..m-2; x_{t+1} is the best of
    x_t and the candidates (one (m, 1) ranking per iteration, m points).
    """
    T = _horizon(params, budget)
    records, x, info, stats = call_kernel(instance, K.GLD, eta0=1.0, schedule=0, mu=0.0, m=params["m"], k=1,
                                          radius=params["radius"], T=T, record_every=budget.record_every,
                                          seed=int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, stats, {})


def run_rank_recombination(instance: Instance, params: dict, budget, rng) -> Result:
    """Rank-weighted recombination (the ZO-RankSGD authors' notebook heuristic, spec A.9), ranking only.

    One top-k ranking of y_i = x_t + mu xi_i, xi_i ~ N(0, I) (mu a search radius), then
    x_{t+1} = sum_{r<k} (k - r) y_(r) / sum_{r<k} (k - r): a weighted mean of the best points, as in
    evolution strategies. m evaluations per iteration, like every method of this family.
    """
    T = _horizon(params, budget)
    records, x, info, stats = call_kernel(instance, K.RECOMBINATION, eta0=1.0, schedule=0, mu=params["mu"],
                                          m=params["m"], k=params["k"], noise=params["rank_noise"],
                                          flip=params["flip_prob"], T=T, record_every=budget.record_every,
                                          seed=int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, stats, {})


def run_zo_ranksgd_line_search(instance: Instance, params: dict, budget, rng) -> Result:
    """ZO-RankSGD, practical line-search variant (Tang et al., public code ``RankSGD``; spec A.4).

    Each iteration: a gradient round (the DAG estimate g_t from one (m, k) ranking, averaged into gbar since
    the last accepted move), then a line-search round: one (n_c, 1) ranking of {x_t, the gradient round's
    best point, x_t - eta 2^-j gbar for j = 0..n_c-3}; x_{t+1} is the winner (gbar reset when it is not
    x_t). With exact rankings f(x_t) never increases. [uncertain] whether the paper's line search is this
    one; the code's step is in units of y - x (a factor mu): eta_code = eta / mu.
    """
    T = _horizon(params, budget)
    records, x, info, stats = call_kernel(instance, K.LINE_SEARCH, eta0=params["eta"], schedule=0, mu=params["mu"],
                                          m=params["m"], k=params["k"], code_weights=params["code_weights"],
                                          n_line=params["n_line"], T=T, record_every=budget.record_every,
                                          seed=int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, stats, {})
