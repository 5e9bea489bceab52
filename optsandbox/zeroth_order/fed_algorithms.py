"""Runners of FZooS and the federated ZO baselines: allocate histories, call a kernel, name the columns.

``iterations`` of the budget is the number of communication rounds R. Events per run:
``queries_to_target`` and ``rounds_to_target`` (first round start with F(x_r) - F* <= the problem's
``target_gap``; NaN if never), ``final_F_gap``, ``total_queries``, ``floats_per_round``.

FZooS's theorems (rounds to eps, Theorem 2) are [uncertain] in the spec: no Theory is attached, so the
scenarios compare methods by claims only.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result
from . import fed_kernels as K


def _events(records: np.ndarray, instance: Instance) -> dict:
    cols = {name: records[:, j] for j, name in enumerate(K.COLUMNS)}
    target = float(instance.reference.get("target_gap", 0.0))
    hit = np.flatnonzero(cols["F_gap"] <= target) if target > 0 else np.array([], dtype=int)
    rounds = len(records) - 1
    return {
        "queries_to_target": float(cols["queries"][hit[0]]) if hit.size else math.nan,
        "rounds_to_target": float(cols["iteration"][hit[0]]) if hit.size else math.nan,
        "final_F_gap": float(cols["F_gap"][-1]),
        "best_F_gap": float(np.nanmin(cols["F_gap"])),
        "total_queries": float(cols["queries"][-1]),
        "floats_per_round": float(cols["floats"][-1] / max(rounds, 1)),
    }


def _oracles(instance: Instance):
    o = instance.oracles
    return o["value"], o.get("measure", o["value"]), o["grad"]


def _check_exact(params: dict):
    if params.get("exact_gradients") and params.get("correction", "none") == "rff":
        raise ValueError("exact_gradients = true spends no query, so the RFF correction has nothing to fit: "
                         "use correction = \"exact\" or \"none\"")


def fzoos_capacity(params: dict, rounds: int) -> int:
    """Return the number of queries one client can make in ``rounds`` rounds (history rows)."""
    T = params["local_steps"]
    per_round = 1 + T + params["n_active"] * max(T - 1, 0) + params["n_around"]
    return params["n_init"] + rounds * per_round + 1


def run_fzoos_raw(instance: Instance, params: dict, rounds: int, seed: int):
    """Call :func:`fed_kernels.fzoos_kernel`; return (records, x_R, info, queries per client)."""
    _check_exact(params)
    ref = instance.reference
    N, d = int(instance.data[1]), instance.dim
    corr = {"none": K.CORR_NONE, "rff": K.CORR_RFF, "exact": K.CORR_EXACT}[params["correction"]]
    ip = np.zeros(K.N_IPARAMS, dtype=np.int64)
    ip[K.I_CORRECTION] = corr
    ip[K.I_ROUNDS] = rounds
    ip[K.I_LOCAL] = params["local_steps"]
    ip[K.I_GAMMA_INV_T] = params["gamma_schedule"] == "inv_t"
    ip[K.I_NEIGHBORS] = params["n_neighbors"]
    ip[K.I_INIT] = params["n_init"]
    ip[K.I_ACTIVE] = params["n_active"]
    ip[K.I_ACTIVE_CAND] = params["active_candidates"]
    ip[K.I_AROUND] = params["n_around"]
    ip[K.I_AROUND_CAND] = params["around_candidates"]
    ip[K.I_RFF_M] = params["rff_features"]
    ip[K.I_RFF_POINTS] = params["rff_points"]
    ip[K.I_PROJECT] = bool(params["project"])
    ip[K.I_EXACT] = bool(params["exact_gradients"])
    ip[K.I_ADAM] = params["local_opt"] == "adam"
    ip[K.I_KERNEL] = {"se": 0, "matern52": 1}[params["kernel"]]
    fp = np.zeros(10)
    fp[K.F_ETA] = params["eta"]
    fp[K.F_GAMMA] = params["gamma"]
    fp[K.F_LENGTHSCALE] = params["lengthscale"]
    fp[K.F_SIGNAL] = params["signal_var"]
    fp[K.F_NOISE] = params["noise_var"]
    fp[K.F_INIT_BOX] = params["init_box"]
    fp[K.F_ACTIVE_BOX] = params["active_box"]
    fp[K.F_RFF_LENGTHSCALE] = params["rff_lengthscale"]
    fp[K.F_RFF_NOISE] = params["rff_noise"]
    fp[K.F_FSTAR] = ref["F_star"]
    cap = fzoos_capacity(params, rounds)
    HX = np.zeros((N, cap, d))
    Hy = np.zeros((N, cap))
    Hn = np.zeros(N, dtype=np.int64)
    queries = np.zeros(N)
    records = np.full((rounds + 2, len(K.COLUMNS)), np.nan)
    x = np.empty(d)
    info = np.zeros(3)
    value, measure, grad = _oracles(instance)
    K.fzoos_kernel(value, measure, grad, instance.data, np.ascontiguousarray(ref["x0"], dtype=float),
                   np.ascontiguousarray(ref["x_star"], dtype=float), ip, fp, np.random.default_rng(seed), HX, Hy, Hn,
                   queries, records, x, info)
    return records[:int(info[0])], x, info, queries


def _result(records, x, info, queries, instance, extra=None) -> Result:
    columns = {name: records[:, j].copy() for j, name in enumerate(K.COLUMNS)}
    columns["round"] = columns["iteration"].copy()
    events = _events(records, instance)
    events["max_client_queries"] = float(queries.max())
    if extra:
        events.update(extra)
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]), theory={},
                  final={"x": x, "queries_per_client": queries})


def run_fzoos(instance: Instance, params: dict, budget, rng) -> Result:
    """FZooS (Shu, Lin, Dai, Low, arXiv 2308.04077): federated ZO with trajectory-informed surrogates.

    Each client fits a GP (SE kernel, fixed hyperparameters, y standardized) on its nearest past queries and
    steps along the exact posterior-mean gradient grad mu_i, corrected by the shared random-Fourier-feature
    surrogates: x <- x - eta [grad mu_i(x) + gamma_t (grad muhat_r(x) - grad muhat_r^(i)(x))], gamma_t = gamma
    or gamma/(t+1); the server averages the local iterates (eta_g = 1) and the RFF weights (shared seed).
    Active queries (max gradient variance) refine the surrogate; every query is counted per client.
    The client kernel is SE by default (the theory's); ``kernel = "matern52"`` is the code's Matern-5/2.
    [uncertain] settled: plain local step by default (``local_opt = "adam"`` reproduces the code's Adam,
    moments reset every round), gamma = 1 constant, SE kernel with analytic gradient,
    code's auxiliary-query schedule kept but with smaller counts (n_active = 2, n_around = 10) for the
    query budget, iterates projected onto [0, 1]^d.
    """
    records, x, info, queries = run_fzoos_raw(instance, params, budget.iterations,
                                              int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, queries, instance)


FEDZO_METHODS = {"fedzo": K.FEDZO, "fedprox": K.FEDPROX, "I": K.SCAFFOLD_I, "II": K.SCAFFOLD_II}


def run_fedzo_raw(instance: Instance, params: dict, method: int, rounds: int, seed: int):
    """Call :func:`fed_kernels.fedzo_kernel`; return (records, x_R, info, queries per client)."""
    ref = instance.reference
    N, d = int(instance.data[1]), instance.dim
    q = params["q"]
    scale = (d / q) if params["fedzo_scale"] == "paper" else 1.0 / q
    queries = np.zeros(N)
    records = np.full((rounds + 2, len(K.COLUMNS)), np.nan)
    x = np.empty(d)
    info = np.zeros(3, dtype=np.int64)
    value, measure, grad = _oracles(instance)
    K.fedzo_kernel(method, value, measure, grad, instance.data, np.ascontiguousarray(ref["x0"], dtype=float),
                   np.ascontiguousarray(ref["x_star"], dtype=float), float(ref["F_star"]), int(rounds),
                   int(params["local_steps"]), float(params["eta"]), float(params["mu"]), int(q), float(scale),
                   float(params.get("mu_prox", 0.0)), bool(params["project"]), bool(params["exact_gradients"]),
                   params["local_opt"] == "adam", np.random.default_rng(seed), queries, records, x, info)
    return records[:int(info[0])], x, info, queries


def run_fedzo(instance: Instance, params: dict, budget, rng) -> Result:
    """FedZO (Fang et al., IEEE TSP 2022): local zeroth-order SGD steps, FedAvg on the server.

    ghat_i(x) = (d/q) sum_j (f_i(x + mu s_j) - f_i(x))/mu s_j over q orthonormalized unit directions
    (``fedzo_scale = "code"``: 1/q as the FZooS code); x <- x - eta ghat_i(x) for T local steps;
    x_{r+1} = mean_i x_{r,T}^(i). q + 1 queries per local step (the centre value is reused).
    """
    records, x, info, queries = run_fedzo_raw(instance, params, K.FEDZO, budget.iterations,
                                              int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, queries, instance)


def run_fedprox_zo(instance: Instance, params: dict, budget, rng) -> Result:
    """FedProx-ZO (Li et al. 2020, zeroth-order as in the FZooS code): FedZO plus a proximal pull.

    x <- x - eta (ghat_i(x) + mu_p (x - x_r)), mu_p = 1 by default; server FedAvg.
    """
    records, x, info, queries = run_fedzo_raw(instance, params, K.FEDPROX, budget.iterations,
                                              int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, queries, instance)


def run_scaffold_zo(instance: Instance, params: dict, budget, rng) -> Result:
    """SCAFFOLD-ZO (Karimireddy et al. 2020, zeroth-order as in the FZooS code): drift-corrected FedZO.

    x <- x - eta (ghat_i(x) - c_i + c), c = mean_i c_i. Type I: c_i = ghat_i(x_r), a fresh estimate at the
    round's start (its q + 1 queries counted); type II: c_i = (x_r - x_{r,T}^(i))/(T eta) from client i's
    previous-round trajectory. 2d floats each way per client and round.
    """
    method = K.SCAFFOLD_I if params["variant"] == "I" else K.SCAFFOLD_II
    records, x, info, queries = run_fedzo_raw(instance, params, method, budget.iterations,
                                              int(rng.integers(2 ** 31 - 1)))
    return _result(records, x, info, queries, instance)
