"""Runners of the classification family: allocate, call a kernel, name the columns, state the theory.

Each ``run_*`` has the family-independent signature ``run(instance, params, budget, rng) -> Result``.
The theorem behind each bound (Tyurin 2024, arXiv 2412.08424; Novikoff 1962):

* Batch Perceptron (Thm 3.3): T_sep <= n R^2 / mu^2.
* Normalized Batch Perceptron (Thm 5.3) and the online perceptron (Novikoff): R^2 / mu^2.
* Normalized LR+GD (Thm 6.1): T_sep <= R^2 / mu^2 + 2 log(2n - 1) / (gamma mu^2).
* LR+GD: no finite-gamma bound. Above the limit-regime threshold of the quantitative reduction
  (gamma > (2 / delta_T) log(2 (T - 1) R^2 / delta_T), delta_T the smallest |margin| along the Batch
  Perceptron path up to its T_sep) LR+GD separates at exactly the Batch Perceptron's T_sep, so Thm 3.3
  applies; below it the bound is reported as "outside theory".

All bounds use mu_lo (the certified lower end of the margin bracket), which can only enlarge them.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from ..kernels.recording import capacity
from . import kernels
from .kernels import BATCH_COLUMNS, PERCEPTRON_COLUMNS

SEPARATION = "iterations_to_separation"
SELECTIONS = {"cyclic": kernels.SELECTION_CYCLIC, "random_order": kernels.SELECTION_RANDOM_ORDER,
              "first": kernels.SELECTION_FIRST, "most_violated": kernels.SELECTION_MOST_VIOLATED}

# Rounding allowance of the limit-path comparison: both paths are sums of t steps of size <= R, each
# computed with relative error ~1e-16, so their difference cannot be resolved below this scale.
_ROUNDING = 1e-13


def batch_path(instance: Instance, rule: int, gamma: float, iterations: int, record_every: int,
               stop_at_separation: bool = True, keep_path: bool = False):
    """Run :func:`kernels.batch_kernel`; return (records, path, theta, info) trimmed to the rows written."""
    d = instance.dim
    rows_max = capacity(iterations, record_every)
    records = np.full((rows_max, len(BATCH_COLUMNS)), np.nan)
    path = np.zeros((rows_max if keep_path else 1, d))
    theta = np.zeros(d)
    info = np.zeros(4, dtype=np.int64)
    o = instance.oracles
    kernels.batch_kernel(rule, o["margins"], o["combine"], instance.data, float(gamma), int(iterations),
                         int(record_every), bool(stop_at_separation), records, path, theta, info)
    rows = int(info[0])
    return records[:rows], (path[:rows] if keep_path else None), theta, info


def _columns(records: np.ndarray, names: tuple[str, ...], drop: tuple[str, ...] = ()) -> dict:
    return {name: records[:, k].copy() for k, name in enumerate(names) if name not in drop}


def _result(records, theta, info, drop, theory, extra_columns=None, extra_events=None) -> Result:
    columns = _columns(records, BATCH_COLUMNS, drop)
    if extra_columns:
        columns.update(extra_columns)
    events = {SEPARATION: float(info[3])}
    if extra_events:
        events.update(extra_events)
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]),
                  theory=theory, final={"theta": theta})


def _ref(instance: Instance):
    r = instance.reference
    return r["n"], r["R"], r["mu_lo"]


def limit_threshold(instance: Instance, stop: int) -> tuple[float, float]:
    """Return (delta_T, gamma threshold) of the quantitative reduction along the Batch Perceptron path.

    delta_T = min over 1 <= s <= T of min_i |b_i^T theta_hat_s| (T = the Batch Perceptron's T_sep), and
    LR+GD with gamma above (2 / delta_T) log(2 (T - 1) R^2 / delta_T) has the same misclassified sets as
    the limit path up to T, hence the same T_sep (derived in the family spec, section 3.3).
    """
    # First find T without keeping the path, then keep only T + 1 iterates: memory O(T d), not O(budget d).
    _, _, _, info = batch_path(instance, kernels.PERCEPTRON, 1.0, stop, stop + 1)
    T = int(info[3])
    if T < 1:
        return math.nan, math.inf
    _, path, _, _ = batch_path(instance, kernels.PERCEPTRON, 1.0, T, 1, keep_path=True)
    B = _rows(instance)
    delta = float(np.min(np.abs(B @ path[1:T + 1].T)))
    if delta <= 0:
        return 0.0, math.inf
    _, R, _ = _ref(instance)
    threshold = (2.0 / delta) * math.log(max(2.0 * (T - 1) * R * R / delta, 1.0))
    return delta, threshold


def _rows(instance: Instance) -> np.ndarray:
    from .oracles import rows_of

    return rows_of(instance.data)


def _limit_gap(instance, rule, limit_rule, gamma, budget, scale_n: float):
    """Return (gap column, max gap, bound) of ||theta_t / gamma - theta_hat_t|| along the recorded rows."""
    # Every iteration is recorded: delta_T is a minimum over all iterates of the limit path.
    records, path, theta, info = batch_path(instance, rule, gamma, budget.iterations, 1,
                                            stop_at_separation=True, keep_path=True)
    lrec, lpath, _, linfo = batch_path(instance, limit_rule, 1.0, budget.iterations, 1,
                                       stop_at_separation=False, keep_path=True)
    rows = min(len(path), len(lpath))
    it = records[:rows, 0]
    same = lrec[:rows, 0] == it
    gap = np.full(len(path), np.nan)
    gap[:rows] = np.where(same, np.linalg.norm(path[:rows] / gamma - lpath[:rows], axis=1), np.nan)
    max_gap = float(np.nanmax(gap)) if np.isfinite(gap).any() else math.nan
    # Bound: ||theta_t/gamma - theta_hat_t|| <= K (t - 1) R exp(-gamma delta_T / 2), K = 1 (LR+GD) or
    # 4n (normalized), valid while K (t - 1) R^2 exp(-gamma delta_T / 2) < delta_T / 2 (spec 3.3).
    B = _rows(instance)
    T = int(max(it.max() if it.size else 0, 1))
    along = lpath[1:rows][:max(T, 1)]
    delta = float(np.min(np.abs(B @ along.T))) if along.size else math.nan
    _, R, _ = _ref(instance)
    t_max = float(it.max()) if it.size else 0.0
    decay = math.exp(-gamma * delta / 2.0) if math.isfinite(delta) else math.nan
    bound = scale_n * max(t_max - 1.0, 0.0) * R * decay
    valid = math.isfinite(bound) and bound * R < delta / 2.0
    allowance = _ROUNDING * (1.0 + float(np.max(np.linalg.norm(lpath[:rows], axis=1)))) * max(t_max, 1.0)
    theory = Theory("count", bound + allowance, applicable=valid,
                    condition="" if valid else f"gamma*delta_T = {gamma * delta:.3g} too small for the "
                                               f"quantitative limit bound")
    return gap, max_gap, theory, (records, theta, info)


def run_lr_gd(instance: Instance, params: dict, budget, rng) -> Result:
    """LR+GD: theta_{t+1} = theta_t + (gamma/n) sum_i c_i sigma(-b_i^T theta_t) b_i from theta_0 = 0.

    Tyurin (2024), eq. (2) and section 2: gradient descent on the mean logistic loss with a constant step
    of any size. Weights use the sign-branched sigmoid, so gamma = 1e12 runs without overflow.
    """
    gamma = params["gamma"]
    drop = ("log_beta", "weight_entropy")
    n, R, mu = _ref(instance)
    delta, threshold = limit_threshold(instance, budget.iterations)
    bound = n * R * R / mu ** 2
    theory = {SEPARATION: Theory("count", bound, applicable=gamma > threshold,
                                 condition="" if gamma > threshold else
                                 f"no finite-gamma bound; gamma = {gamma:g} is below the limit-regime "
                                 f"threshold {threshold:.3g}")}
    if params["track_limit"]:
        gap, max_gap, gap_theory, (records, theta, info) = _limit_gap(
            instance, kernels.LOGISTIC, kernels.PERCEPTRON, gamma, budget, 1.0)
        theory["max_limit_path_gap"] = gap_theory
        return _result(records, theta, info, drop, theory, {"limit_path_gap": gap},
                       {"max_limit_path_gap": max_gap})
    records, _, theta, info = batch_path(instance, kernels.LOGISTIC, gamma, budget.iterations,
                                         budget.record_every, params["stop_at_separation"])
    return _result(records, theta, info, drop, theory)


def run_normalized_lr_gd(instance: Instance, params: dict, budget, rng) -> Result:
    """Normalized LR+GD: theta_{t+1} = theta_t - gamma beta_t grad f(theta_t), beta_t = 1 / mean sigma(-z).

    Tyurin (2024), section 6, Thm 6.1. Implemented as theta_{t+1} = theta_t + gamma sum_i p_i b_i with
    p = softmax(log c_i - softplus(z_i)) in the log domain, so beta_t never overflows.
    """
    gamma = params["gamma"]
    n, R, mu = _ref(instance)
    bound = R * R / mu ** 2 + 2.0 * math.log(2.0 * n - 1.0) / (gamma * mu ** 2)
    theory = {SEPARATION: Theory("count", bound)}
    if params["track_limit"]:
        gap, max_gap, gap_theory, (records, theta, info) = _limit_gap(
            instance, kernels.NORMALIZED_LOGISTIC, kernels.NORMALIZED_PERCEPTRON, gamma, budget, 4.0 * n)
        theory["max_limit_path_gap"] = gap_theory
        return _result(records, theta, info, (), theory, {"limit_path_gap": gap},
                       {"max_limit_path_gap": max_gap})
    records, _, theta, info = batch_path(instance, kernels.NORMALIZED_LOGISTIC, gamma, budget.iterations,
                                         budget.record_every, params["stop_at_separation"])
    return _result(records, theta, info, (), theory)


def run_batch_perceptron(instance: Instance, params: dict, budget, rng) -> Result:
    """Batch Perceptron: theta_1 = (1/2n) sum b_i, then theta_{t+1} = theta_t + (1/n) sum_{z_i <= 0} b_i.

    Tyurin (2024), section 3 (the gamma -> infinity limit of LR+GD, half first step) and Thm 3.3.
    """
    n, R, mu = _ref(instance)
    records, _, theta, info = batch_path(instance, kernels.PERCEPTRON, 1.0, budget.iterations,
                                         budget.record_every)
    theory = {SEPARATION: Theory("count", n * R * R / mu ** 2)}
    return _result(records, theta, info, ("log_beta", "weight_entropy"), theory)


def run_normalized_batch_perceptron(instance: Instance, params: dict, budget, rng) -> Result:
    """Normalized Batch Perceptron: theta_{t+1} = theta_t + mean of the misclassified b_i.

    Tyurin (2024), Thm 5.3 (the gamma -> infinity limit of Normalized LR+GD): T_sep <= R^2 / mu^2.
    """
    n, R, mu = _ref(instance)
    records, _, theta, info = batch_path(instance, kernels.NORMALIZED_PERCEPTRON, 1.0, budget.iterations,
                                         budget.record_every)
    theory = {SEPARATION: Theory("count", R * R / mu ** 2)}
    return _result(records, theta, info, ("log_beta", "weight_entropy"), theory)


def run_perceptron(instance: Instance, params: dict, budget, rng) -> Result:
    """Online perceptron (Novikoff 1962): on a sample with b_j^T theta <= 0, theta <- theta + b_j.

    Novikoff's theorem (quoted as Thm 5.2 by Tyurin 2024): at most R^2 / mu^2 updates, for every order.
    ``iterations`` counts passes (cyclic, random_order) or updates (first, most_violated).
    """
    n, R, mu = _ref(instance)
    n_rows = int(instance.data[0])
    rows_max = capacity(budget.iterations, budget.record_every)
    records = np.full((rows_max, len(PERCEPTRON_COLUMNS)), np.nan)
    theta = np.zeros(instance.dim)
    order = np.zeros(n_rows, dtype=np.int64)
    info = np.zeros(4, dtype=np.int64)
    seed = int(rng.integers(0, 2**31 - 1))
    o = instance.oracles
    kernels.perceptron_kernel(SELECTIONS[params["selection"]], o["row_margin"], o["add_row"], o["margins"],
                              instance.data, int(budget.iterations), int(budget.record_every), seed,
                              records, theta, order, info)
    rows = int(info[0])
    columns = _columns(records[:rows], PERCEPTRON_COLUMNS)
    updates = float(info[3])
    passes = float(columns["passes"][-1]) if info[3] >= 0 else -1.0
    theory = {"updates_to_separation": Theory("count", R * R / mu ** 2),
              "passes_to_separation": Theory("count", R * R / mu ** 2 + 1.0)}
    return Result(columns=columns, events={"updates_to_separation": updates, "passes_to_separation": passes},
                  status=int(info[1]), stop_iteration=int(info[2]), theory=theory, final={"theta": theta})
