"""Runners of the monotone family: defaults from the problem's constants, kernel call, columns, theory.

Budget convention: ``budget.iterations`` is a number of **epochs** (component calls / n), the same for
every method, so that methods of different per-iteration cost are compared on one oracle budget;
``budget.record_every`` is the largest gap between record rows, in epochs. Step sizes are given as
``step_scale`` times the default step of each method (computed from the problem's reference constants),
so that one scenario value means the same thing on every instance; scale 1 is the theorem's step.

Theory attached to each run (``Result.theory``):

* ``residual`` (form power, against oracle_calls): exponent -1 for Halpern (Lieder 2021, tight),
  Algorithm 1 and 2 (Cai-Alacaoglu-Diakonikolas 2024, last iterate, O~(n + sqrt(n) L D / eps)) and EAG
  (Yoon-Ryu 2021); -1/2 for EG (Gorbunov-Loizou-Gidel 2022, last iterate); none for VR-EG (ergodic gap
  only). Each is "outside theory" when the problem or the step violates the theorem's assumptions.
* ``max_bound_ratio`` (Halpern, count): max_k Res(u_k) eta (k+1) / (2 D) <= 1, the tight bound
  ||u_k - T u_k|| <= 2 D / (k+1) divided by eta (G = 0, where Res = ||F(u)|| = ||u - T u|| / eta).
* ``epochs_to_target`` (per-run event; sweeps over n fit its log-log slope): 0 for the full-batch methods
  (their cost in epochs does not depend on how F is split), -1/2 + L_growth for Algorithm 1 (its
  O(n log n + sqrt(n) L D / eps) calls are ~ L D / (sqrt(n) eps) epochs once the sqrt(n) term dominates
  the warm-up; L_growth is the exponent of n in L / L_F fixed by the problem's construction). Outside
  that regime ((L / L_coco) / (target_rel sqrt(n)) < ln n) the slope is reported as outside theory.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from . import kernels
from .kernels import COLUMNS

TARGET = "epochs_to_target"


def _setup(instance: Instance, budget, params: dict):
    ref = instance.reference
    n = int(ref["n"])
    rows = kernels.capacity(float(budget.iterations), n, int(budget.record_every))
    records = np.full((rows, len(COLUMNS)), np.nan)
    u = np.zeros(instance.dim)
    info = np.zeros(3, dtype=np.int64)
    work = np.empty(2 * instance.dim)
    res0 = float(instance.oracles["residual"](np.ascontiguousarray(ref["u0"], dtype=np.float64),
                                              instance.data, work))
    target = params.get("target_rel", 0.0) * res0
    return n, records, u, info, target


def _oracles(instance: Instance):
    o = instance.oracles
    return o["comp_op"], o["full_op"], o["resolvent"], o["residual"]


def _common(instance: Instance):
    ref = instance.reference
    return (instance.data, np.ascontiguousarray(ref["u0"], dtype=np.float64),
            np.ascontiguousarray(ref["u_star"], dtype=np.float64))


def _result(records, u, info, theory, target, extra_events=None) -> Result:
    rows = int(info[0])
    records = records[:rows]
    columns = {name: records[:, k].copy() for k, name in enumerate(COLUMNS)}
    events = {}
    if target > 0:
        hit = np.flatnonzero(columns["residual"] <= target)
        events[TARGET] = float(columns["epochs"][hit[0]]) if hit.size else math.nan
    if extra_events:
        events.update(extra_events)
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]),
                  theory=theory, final={"u": u})


def _seed(rng) -> int:
    return int(rng.integers(2**31 - 1))


def _full_batch_sweep_theory() -> Theory:
    return Theory("power", 0.0)


def run_halpern(instance: Instance, params: dict, budget, rng) -> Result:
    """Plain Halpern iteration (Halpern 1967; tight rate: Lieder 2021) in forward-backward form.

    u_{k+1} = u_0/(k+2) + (1 - 1/(k+2)) J_{eta G}(u_k - eta F(u_k)), one full pass (n component calls)
    per step. T = J_{eta G}(I - eta F) is nonexpansive when F is 1/L_coco-cocoercive and eta <= 2/L_coco,
    and then ||u_k - T u_k|| <= 2 ||u_0 - u*|| / (k+1) (Lieder 2021, tight; PEPit reproduces it), so for
    G = 0: ||F(u_k)|| <= 2 D / (eta (k+1)) = L_coco D / (k+1) at the default eta = 2/L_coco.
    At eta = 2/L_coco exactly, the top eigendirection of a linear F has T-eigenvalue -1: there
    (k+1) e_k alternates between e_0 and 0, so the residual zigzags with the parity of k between the bound
    and 0 (the tight case). Rate fits therefore use step_scale < 1, where T is averaged.
    """
    ref = instance.reference
    base = 2.0 / ref["L_coco"] if ref["cocoercive"] else 0.5 / ref["L_F"]
    eta = params["step_scale"] * base
    n, records, u, info, target = _setup(instance, budget, params)
    kernels.halpern_kernel(*_oracles(instance), *_common(instance), float(eta), float(budget.iterations),
                           int(budget.record_every), float(target), _seed(rng), records, u, info)
    ok = bool(ref["cocoercive"]) and eta <= 2.0 / ref["L_coco"] * (1 + 1e-12)
    why = ("F is not cocoercive (I - eta F is not nonexpansive for any eta)" if not ref["cocoercive"]
           else f"eta = {eta:.3g} > 2/L_coco = {2 / ref['L_coco']:.3g}")
    theory = {"residual": Theory("power", -1.0, ok, "" if ok else why),
              TARGET: _full_batch_sweep_theory()}
    events = {}
    rows = int(info[0])
    if ok and not ref["constrained"] and rows > 1:
        k = records[1:rows, 0]
        ratio = records[1:rows, 5] * eta * (k + 1.0) / (2.0 * ref["D"])
        events["max_bound_ratio"] = float(np.nanmax(ratio))
        theory["max_bound_ratio"] = Theory("count", 1.0)
    return _result(records, u, info, theory, target, events)


def run_vr_halpern(instance: Instance, params: dict, budget, rng) -> Result:
    """Variance-reduced Halpern, cocoercive case (Cai, Alacaoglu, Diakonikolas, ICLR 2024, Algorithm 1).

    u_{k+1} = J_{eta G}(lam_k u_0 + (1 - lam_k) u_k - eta Ft_k), lam_k = 2/(k+4), with the loopless
    recursive (PAGE-type) estimator: with probability p_k a full pass Ft_k = F(u_k), otherwise
    Ft_k = Ft_{k-1} + (1/b) sum_{j in S_k} [F_j(u_k) - F_j(u_{k-1})] over b = floor(sqrt(n)) indices drawn
    without replacement; p_k = 1 for k <= 1, 4/(k+4) up to k = sqrt(n) + 1, then 4/(sqrt(n) + 5) (the
    authors' schedules). Default eta = 1/L (L the (A-coco) constant): with Ft = F it keeps the effective
    step eta/(1 - lam_k) <= 2/L <= 2/L_coco, the forward step's nonexpansiveness limit. Guarantee:
    E Res(u_K) = O(L D / K), O~(n + sqrt(n) L D / eps) component calls.
    """
    ref = instance.reference
    L = ref["L_avg_coco"]
    eta = params["step_scale"] * (1.0 / L if math.isfinite(L) else 0.25 / ref["L_F"])
    n, records, u, info, target = _setup(instance, budget, params)
    batch = params["batch"] if params["batch"] > 0 else max(1, int(math.isqrt(n)))
    perm = np.zeros(n, dtype=np.int64)
    kernels.vr_halpern_kernel(*_oracles(instance), *_common(instance), float(eta), int(batch),
                              float(budget.iterations), int(budget.record_every), float(target), _seed(rng),
                              records, u, info, perm)
    ok = bool(ref["cocoercive"]) and math.isfinite(L) and eta <= 1.0 / L * (1 + 1e-12)
    why = ("F is not cocoercive on average (assumption A-coco fails)" if not math.isfinite(L)
           else f"eta = {eta:.3g} > 1/L = {1 / L:.3g}")
    growth = ref.get("L_growth", 0.0)
    # The sqrt(n) slope is the regime where the sqrt(n) L D / eps term of the cost dominates the O(n log n)
    # warm-up, i.e. (L / L_coco) / (target_rel sqrt(n)) >= ln n in epochs (Res(u_0) ~ L_coco D).
    rel = params["target_rel"]
    dominant = rel > 0 and (L / ref["L_coco"]) / (rel * math.sqrt(n)) >= math.log(n)
    sweep_ok = ok and dominant
    sweep_why = why if not ok else ("no target set (target_rel = 0)" if rel <= 0 else
                                    f"warm-up dominates: (L/L_coco)/(target_rel sqrt(n)) < ln n at n = {n}")
    theory = {"residual": Theory("power", -1.0, ok, "" if ok else why),
              TARGET: Theory("power", -0.5 + growth, sweep_ok, "" if sweep_ok else sweep_why)}
    return _result(records, u, info, theory, target)


def run_vr_halpern_lip(instance: Instance, params: dict, budget, rng) -> Result:
    """Inexact Halpern with a VR-FoRB inner solver, monotone Lipschitz case (Cai et al. 2024, Algorithm 2).

    u_{k+1} = u_0/(k+2) + (1 - 1/(k+2)) v_k with v_k ~ J_{eta(F+G)}(u_k), computed by M_k steps of the
    loopless forward-reflected-backward method of Alacaoglu-Malitsky on Phi(v) = eta F(v) + v - u_k:
    vbar = (1-p) v + p w, v <- J(vbar - gamma [Phi(w) + Phi_i(v) - Phi_i(w_prev)]), snapshot w <- v with
    probability p = 1/n (the published rule; the public scripts reset w to u_k, selectable as
    snapshot_reset = "anchor"). Defaults: eta = sqrt(n)/L (L the (A-lip) constant, the authors' choice),
    gamma = 0.49 sqrt(p(1-p))/(1 + eta L), M_k = ceil(inner_scale (n + sqrt(n)(1 + eta L)) ln(k+2)).
    """
    ref = instance.reference
    L = ref["L_avg_lip"]
    n, records, u, info, target = _setup(instance, budget, params)
    p = 1.0 / n
    eta = params["eta"] if params["eta"] > 0 else math.sqrt(n) / L
    gamma = params["gamma"] if params["gamma"] > 0 else 0.49 * math.sqrt(p * (1 - p)) / (1 + eta * L)
    scale = params["inner_scale"] * (n + math.sqrt(n) * (1 + eta * L))
    kernels.inexact_halpern_kernel(*_oracles(instance), *_common(instance), float(eta), float(gamma), p,
                                   float(scale), 1, int(params["snapshot_reset"] == "anchor"),
                                   float(budget.iterations), int(budget.record_every), float(target),
                                   _seed(rng), records, u, info)
    # Applicability: the published snapshot rule, a finite (A-lip) constant, and an inner step of the
    # theory's form c sqrt(p(1-p))/(1 + eta L) with c < 1/2 (spec 4.2). A larger gamma -- e.g. the public
    # scripts' 5 sqrt(p(1-p))/(sqrt(n) + 1), c = 5 -- is a tuned, out-of-theory choice and must not be
    # reported against the theorem.
    gamma_max = 0.5 * math.sqrt(p * (1 - p)) / (1 + eta * L) if math.isfinite(L) else 0.0
    if params["snapshot_reset"] != "iterate":
        why = "snapshot reset to the anchor: the inner solver does not converge"
    elif not math.isfinite(L):
        why = "F is not Lipschitz on average (assumption A-lip fails)"
    elif gamma >= gamma_max:
        why = f"gamma = {gamma:.3g} >= 0.5 sqrt(p(1-p))/(1 + eta L) = {gamma_max:.3g} (inner step beyond theory)"
    else:
        why = ""
    theory = {"residual": Theory("power", -1.0, not why, why)}
    return _result(records, u, info, theory, target)


def run_eg(instance: Instance, params: dict, budget, rng) -> Result:
    """Extragradient (Korpelevich 1976): z_half = J(z - a F(z)), z <- J(z - a F(z_half)); 2n calls.

    Last-iterate guarantee for monotone L_F-Lipschitz F and G = 0 (Gorbunov, Loizou, Gidel 2022):
    ||F(z_k)||^2 = O(L_F^2 D^2 / k) for a < 1/L_F, i.e. slope -1/2 of the residual against calls.
    Default a = 0.5 / L_F.
    """
    ref = instance.reference
    alpha = params["step_scale"] * 0.5 / ref["L_F"]
    n, records, u, info, target = _setup(instance, budget, params)
    kernels.extragradient_kernel(*_oracles(instance), *_common(instance), float(alpha), 0,
                                 float(budget.iterations), int(budget.record_every), float(target),
                                 _seed(rng), records, u, info)
    ok = alpha < 1.0 / ref["L_F"] and not ref["constrained"]
    why = "constrained problem (the last-iterate theorem used is for G = 0)" if ref["constrained"] else \
        f"alpha = {alpha:.3g} >= 1/L_F = {1 / ref['L_F']:.3g}"
    theory = {"residual": Theory("power", -0.5, ok, "" if ok else why), TARGET: _full_batch_sweep_theory()}
    return _result(records, u, info, theory, target)


def run_eag(instance: Instance, params: dict, budget, rng) -> Result:
    """Extra-anchored gradient, EAG-C (Yoon, Ryu, ICML 2021), anchor beta_k = 1/(k+2); 2n calls per step.

    z_half = J(z_k + beta_k (z_0 - z_k) - a F(z_k)); z_{k+1} = J(z_k + beta_k (z_0 - z_k) - a F(z_half)).
    For monotone L_F-Lipschitz F, G = 0 and a <= 1/(8 L_F): ||F(z_k)||^2 = O(L_F^2 D^2 / k^2), slope -1.
    Default a = 1/(8 L_F).
    """
    ref = instance.reference
    alpha = params["step_scale"] / (8.0 * ref["L_F"])
    n, records, u, info, target = _setup(instance, budget, params)
    kernels.extragradient_kernel(*_oracles(instance), *_common(instance), float(alpha), 1,
                                 float(budget.iterations), int(budget.record_every), float(target),
                                 _seed(rng), records, u, info)
    ok = alpha <= 1.0 / (8.0 * ref["L_F"]) * (1 + 1e-12) and not ref["constrained"]
    why = "constrained problem (EAG-C's theorem is for G = 0)" if ref["constrained"] else \
        f"alpha = {alpha:.3g} > 1/(8 L_F) = {1 / (8 * ref['L_F']):.3g}"
    theory = {"residual": Theory("power", -1.0, ok, "" if ok else why), TARGET: _full_batch_sweep_theory()}
    return _result(records, u, info, theory, target)


def run_vr_eg(instance: Instance, params: dict, budget, rng) -> Result:
    """VR-EG, loopless SVRG extragradient (Alacaoglu, Malitsky, COLT 2022).

    zbar = (1-p) z + p w; z_half = J(zbar - tau F(w)); z <- J(zbar - tau [F(w) + F_xi(z_half) - F_xi(w)])
    (2 calls, xi uniform); with probability p = 1/n the snapshot w <- z and F(w) is recomputed (n calls).
    Default tau = 0.5 sqrt(p) / L (L the (A-lip) constant). Its guarantee is on the ergodic gap,
    O(n + sqrt(n) L / eps); there is no last-iterate residual rate, so its residual bound is reported as
    outside theory.
    """
    ref = instance.reference
    n, records, u, info, target = _setup(instance, budget, params)
    p = 1.0 / n
    tau = params["step_scale"] * 0.5 * math.sqrt(p) / ref["L_avg_lip"]
    kernels.vr_eg_kernel(*_oracles(instance), *_common(instance), float(tau), p, float(budget.iterations),
                         int(budget.record_every), float(target), _seed(rng), records, u, info)
    theory = {"residual": Theory("power", -0.5, False,
                                 "VR-EG's theorem bounds the ergodic gap, not the last-iterate residual")}
    return _result(records, u, info, theory, target)
