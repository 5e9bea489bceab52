"""Runners of the compression family: resolve the compressor and step, call ``ef_kernel``, state the theory.

Every ``run_*`` has the signature ``run(instance, params, budget, rng) -> Result``. The step is given as
``step`` = gamma L (units of 1/L, L the smoothness of f); ``step = 0`` picks the default:

* GD and compressed GD: gamma = 1/L;
* EF14, EF21, EControl, EC-Ideal: the EF21 theory step (order delta/L_tilde; the family spec leaves the
  EControl constants uncertain, so every error-feedback method shares this step by default):
  theta = 1 - sqrt(1 - delta), beta = (1 - delta)/(1 - sqrt(1 - delta)),
  gamma = min{1/(L + L_tilde sqrt(2 beta/theta)), theta/(2 mu)} when mu > 0 (EF21's PL theorem),
  gamma = 1/(L + L_tilde sqrt(beta/theta)) otherwise (EF21's nonconvex theorem).

Theory stated per run (``Result.theory``):

* GD, f_gap: gamma <= 1/L and sigma = 0 give f(x_t) - f* <= (1 - gamma mu)^t (f(x_0) - f*) (rate
  -log(1 - gamma mu)) when the problem is used as strongly convex, and f(x_T) - f* <= ||x_0 - x*||^2/(2 gamma T)
  (exponent -1) when it is used as merely convex; grad_norm_sq_avg <= 2 (f(x_0) - f_inf)/(gamma T)
  (exponent -1) for smooth nonconvex f.
* EF21 (Richtarik, Sokolov, Fatkhullin 2021): strongly convex / PL, f_gap <= Psi_T <= (1 - gamma mu)^T Psi_0
  for gamma at most the PL step above; nonconvex, (1/T) sum ||grad f(x_t)||^2 <= 2 Psi_0/(gamma T).
* EControl (Gao, Islamov, Stich 2024): deterministic gradients give a linear rate (strongly convex), O(1/T)
  (convex, f_gap) and O(1/T) (nonconvex, average squared gradient norm). The constants (powers of delta in
  the rate, admissible step) are not settled by the spec, so the linear bound is stated as "rate > 0"
  (value 0) and the sublinear ones by their exponent -1. The theorems use eta = delta/400; a run with a
  larger eta (the tuned values of the paper's experiments) is reported "outside theory".
* With sigma > 0 and a constant step every method has a noise floor: the rates above are then outside
  theory (the theorems' T-rates need a per-budget step).
* Linear speedup (sigma > 0, GD and EControl): the noise floor ``f_gap_tail_mean`` scales like 1/n in the
  number of clients (the leading term sigma^2/(mu n eps) of the stochastic theorem).
* EF14 and naive compressed GD carry no bound under heterogeneity (zeta > 0): they are checked by claims.

Events: ``f_gap_reduction`` (last over first recorded f_gap), ``f_gap_tail_mean`` (mean f_gap over the recorded rows of the second half of the run) and
``final_f_gap``.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from ..kernels import compressors as cmp
from ..kernels.recording import capacity
from . import kernels
from .kernels import COLUMNS


def ef21_steps(L: float, L_tilde: float, mu: float, delta: float) -> tuple[float, float]:
    """Return (PL step bound, nonconvex theory step) of EF21 for a delta-contractive compressor."""
    if delta >= 1.0:
        return min(1.0 / L, 0.5 / mu if mu > 0 else math.inf), 1.0 / L
    root = math.sqrt(1.0 - delta)
    theta = 1.0 - root
    beta = (1.0 - delta) / (1.0 - root)
    pl = 1.0 / (L + L_tilde * math.sqrt(2.0 * beta / theta))
    if mu > 0:
        pl = min(pl, theta / (2.0 * mu))
    return pl, 1.0 / (L + L_tilde * math.sqrt(beta / theta))


def _setup(instance: Instance, params: dict, default_step: str):
    ref = instance.reference
    d = instance.dim
    name = params["compressor"]
    k = cmp.k_of(name, params["k_ratio"], d)
    delta = cmp.delta_of(name, k, d)
    L, L_tilde = ref["L"], ref["L_tilde"]
    mu = ref["mu"] if ref.get("use_mu", 1.0) else 0.0
    if params["step"] > 0:
        gamma = params["step"] / L
    elif default_step == "gd" or delta <= 0:
        gamma = 1.0 / L
    else:
        pl, nonconvex = ef21_steps(L, L_tilde, mu, delta)
        gamma = pl if mu > 0 else nonconvex
    return name, k, delta, gamma, mu


def _run(method: int, instance: Instance, params: dict, budget, rng, default_step: str,
         eta: float = 0.0, init_dense: bool = True, h_star=None):
    ref = instance.reference
    d = instance.dim
    name, k, delta, gamma, mu = _setup(instance, params, default_step)
    n = int(ref["n_clients"])
    x = np.array(ref["x0"], dtype=float) if "x0" in ref else np.zeros(d)
    records = np.full((capacity(budget.iterations, budget.record_every), len(COLUMNS)), np.nan)
    info = np.zeros(3, dtype=np.int64)
    gap0 = float(instance.oracles["gap"](x, instance.data))
    # stop above the float64 floor of an exact gap; a gap against a numerical f_ref has no such stop
    stop_gap = params["stop_rel"] * abs(gap0) if ref.get("gap_exact", 0.0) else -math.inf
    divergence_gap = 1e30 * max(abs(gap0), 1.0)
    hs = np.zeros((n, d)) if h_star is None else np.ascontiguousarray(h_star, dtype=float)
    sigma = float(ref.get("sigma", 0.0))
    kernels.ef_kernel(method, instance.oracles["local_grads"], instance.oracles["gap"],
                      cmp.COMPRESSORS[name], instance.data, x, float(gamma), float(eta), int(k), sigma,
                      1 if init_dense else 0, cmp.bits_per_message(name, k, d),
                      cmp.floats_per_message(name, k, d), float(stop_gap), float(divergence_gap), hs,
                      int(budget.iterations), int(budget.record_every),
                      int(rng.integers(2 ** 31 - 1)), records, info)
    rows = int(info[0])
    columns = {c: records[:rows, j].copy() for j, c in enumerate(COLUMNS)}
    it = columns["iteration"]
    half = it >= 0.5 * (it[-1] if rows else 0)
    events = {"final_f_gap": float(columns["f_gap"][-1]) if rows else math.nan,
              "f_gap_tail_mean": float(np.mean(columns["f_gap"][half])) if rows else math.nan,
              "f_gap_reduction": (float(columns["f_gap"][-1] / columns["f_gap"][0])
                                if rows and columns["f_gap"][0] != 0 else math.nan),
              "gamma": float(gamma), "delta": float(delta)}
    setup = dict(name=name, k=k, delta=delta, gamma=gamma, mu=mu, sigma=sigma, L=ref["L"],
                 convex=bool(ref.get("convex", 1.0)))
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]),
                  final={"x": x}), setup


def _noise_condition(setup) -> str:
    return "" if setup["sigma"] == 0 else (f"sigma = {setup['sigma']:g} > 0 with a constant step: a noise "
                                          f"floor (the T-rate needs a per-budget step)")


def _speedup_theory(setup, cond: str = "") -> Theory:
    """Linear parallel speedup: with sigma > 0 the leading (noise) term of f_gap scales like 1/n.

    With a constant step the noise floor of f_gap is proportional to gamma sigma^2/n (exactly so for GD,
    the leading term of EControl's stochastic theorem), so f_gap_tail_mean has slope -1 against the
    number of clients n. With sigma = 0 there is no such term.
    """
    if setup["sigma"] == 0:
        return Theory("power", -1.0, False, "sigma = 0: no noise floor to speed up")
    return Theory("power", -1.0, cond == "", cond)


def _convex_gap_theory(setup, ok: bool, cond: str) -> Theory:
    """The O(1/T) bound on f(x_T) - f* (exponent -1). It needs a convex f: on a nonconvex problem (EC-2)
    f_gap is measured against a stationary value and no theorem bounds it (the nonconvex theorems speak of
    grad_norm_sq_avg), so it is "outside theory" there instead of a bound that silently does not apply."""
    if not setup["convex"]:
        return Theory("power", -1.0, False, "f is nonconvex: the O(1/T) bound on f - f* needs convexity "
                                             "(the nonconvex theorem bounds grad_norm_sq_avg)")
    return Theory("power", -1.0, ok, cond)


def _gd_theory(setup, budget) -> dict:
    gamma, mu, L = setup["gamma"], setup["mu"], setup["L"]
    cond = _noise_condition(setup) or ("" if gamma <= L ** -1 * (1 + 1e-12) else
                                       f"gamma L = {gamma * L:.3g} > 1")
    ok = cond == ""
    out = {"grad_norm_sq_avg": Theory("power", -1.0, ok, cond), "f_gap_tail_mean": _speedup_theory(setup)}
    if mu > 0:
        out["f_gap"] = Theory("exp", -math.log1p(-min(gamma * mu, 1.0 - 1e-16)), ok, cond)
    else:
        out["f_gap"] = _convex_gap_theory(setup, ok, cond)
    return out


def run_gd(instance: Instance, params: dict, budget, rng) -> Result:
    """Uncompressed (S)GD, the no-compression reference.

    Update: x_{t+1} = x_t - gamma (1/n) sum_i g_t^i, every client sending its dense gradient (32 d bits).
    The classical bounds: linear rate 1 - gamma mu (strongly convex, gamma <= 1/L), O(1/T) for f_gap
    (convex) and for the average squared gradient norm (nonconvex).
    """
    params = {**params, "compressor": "identity", "k_ratio": 1.0}
    result, setup = _run(kernels.GD, instance, params, budget, rng, "gd")
    result.theory = _gd_theory(setup, budget)
    return result


def run_cgd(instance: Instance, params: dict, budget, rng) -> Result:
    """Naive compressed (S)GD, without error feedback (e.g. Beznosikov et al. 2020's counterexamples).

    Update: x_{t+1} = x_t - gamma (1/n) sum_i C(g_t^i). Biased: with top-k and heterogeneous clients it
    stalls at a non-optimal point or diverges; no bound is stated (the scenarios check that by claims).
    """
    result, _ = _run(kernels.CGD, instance, params, budget, rng, "gd")
    return result


def run_ef14(instance: Instance, params: dict, budget, rng) -> Result:
    """EF14, classic error feedback (Seide et al. 2014; Stich and Karimireddy 2020), "gamma inside" form.

    Update: p^i = e^i + gamma g^i, Delta^i = C(p^i), e^i <- p^i - Delta^i, x <- x - (1/n) sum_i Delta^i.
    Converges under bounded gradients or bounded heterogeneity; with heterogeneous clients and a constant
    step it settles in a neighbourhood of size ~ L gamma^2 zeta^2/delta^2, which the scenarios show by
    claims (no bound is stated).
    """
    result, _ = _run(kernels.EF14, instance, params, budget, rng, "ef")
    return result


def run_ef21(instance: Instance, params: dict, budget, rng) -> Result:
    """EF21 (Richtarik, Sokolov, Fatkhullin, NeurIPS 2021), deterministic or stochastic gradients.

    Update: x_{t+1} = x_t - gamma g^t; c_i = C(grad f_i(x_{t+1}) - g_i^t); g_i^{t+1} = g_i^t + c_i (init
    g_i^0 = grad f_i(x_0) dense, or compressed). Theorems: PL/strongly convex Psi_T <= (1 - gamma mu)^T Psi_0
    for gamma <= min{1/(L + L_tilde sqrt(2 beta/theta)), theta/(2 mu)}; nonconvex (1/T) sum ||grad f||^2
    <= 2 Psi_0/(gamma T) for gamma <= 1/(L + L_tilde sqrt(beta/theta)).
    """
    result, setup = _run(kernels.EF21, instance, params, budget, rng, "ef",
                         init_dense=params["init"] == "dense")
    ref = instance.reference
    delta, gamma, mu = setup["delta"], setup["gamma"], setup["mu"]
    theory = {}
    if delta > 0:
        pl, nonconvex = ef21_steps(ref["L"], ref["L_tilde"], mu, delta)
        noise = _noise_condition(setup)
        if mu > 0:
            cond = noise or ("" if gamma <= pl * (1 + 1e-12) else
                             f"gamma = {gamma:.3g} > the PL step bound {pl:.3g}")
            theory["f_gap"] = Theory("exp", -math.log1p(-min(gamma * mu, 1 - 1e-16)), cond == "", cond)
        cond = noise or ("" if gamma <= nonconvex * (1 + 1e-12) else
                         f"gamma = {gamma:.3g} > the nonconvex step bound {nonconvex:.3g}")
        theory["grad_norm_sq_avg"] = Theory("power", -1.0, cond == "", cond)
    else:
        cond = f"compressor {setup['name']} is not contractive"
        theory = {m: Theory("exp", math.nan, False, cond) for m in ("f_gap", "grad_norm_sq_avg")}
    result.theory = theory
    return result


def econtrol_eta(params: dict, delta: float) -> float:
    """Return eta: the given value, or the theory value delta/400 when ``eta`` < 0."""
    return delta / 400.0 if params["eta"] < 0 else float(params["eta"])


def run_econtrol(instance: Instance, params: dict, budget, rng) -> Result:
    """EControl (Gao, Islamov, Stich, "EControl: Fast Distributed Optimization with Compression and Error
    Control", ICLR 2024): error feedback whose error enters the message with strength eta.

    Update per client: Delta^i = C(eta e^i + g^i - h^i); e^i <- e^i + g^i - h^i - Delta^i;
    h^i <- h^i + Delta^i; server x_{t+1} = x_t - gamma (1/n) sum_i h^i (= x_t - gamma (h_t + Delta_t)),
    with h_0^i = g_0^i sent dense (``init = "dense"``, the default; round 0 reuses g_0^i, so its message is
    C(0) = 0) or h_0^i = C(g_0^i) (``"compressed"``: with eta = 0 this is EF21 with the fresh-shift
    ordering). Theorems (abstract): linear rate (strongly convex), O(1/T) convex and nonconvex with
    deterministic gradients, for every delta-contractive C and any heterogeneity, with eta = delta/400.
    """
    name, k, delta, gamma, mu = _setup(instance, params, "ef")
    eta = econtrol_eta(params, delta)
    result, setup = _run(kernels.ECONTROL, instance, params, budget, rng, "ef", eta=eta,
                         init_dense=params["init"] == "dense")
    result.events["eta"] = eta
    if delta <= 0:
        cond = f"compressor {name} is not contractive"
    elif eta > delta / 400.0 * (1 + 1e-9):
        cond = f"eta = {eta:g} > delta/400 = {delta / 400.0:.3g} (the theorem's error-control strength)"
    else:
        cond = _noise_condition(setup)
    ok = cond == ""
    speedup_cond = cond if cond != _noise_condition(setup) else ""
    result.theory = {"grad_norm_sq_avg": Theory("power", -1.0, ok, cond),
                     "f_gap_tail_mean": _speedup_theory(setup, speedup_cond),
                     "f_gap": Theory("exp", 0.0, ok, cond) if mu > 0 else _convex_gap_theory(setup, ok, cond)}
    return result


def run_ec_ideal(instance: Instance, params: dict, budget, rng) -> Result:
    """EC-Ideal (idealised reference of the EControl paper): EF14 on the shifted gradients g^i - h*_i.

    Update: Delta^i = C(e^i + g^i - h*_i); e^i <- e^i + g^i - h*_i - Delta^i;
    x_{t+1} = x_t - gamma (h* + (1/n) sum_i Delta^i), with h*_i = grad f_i(x*) known (quadratics only).
    It shows what error feedback achieves when the right shifts are known; no bound is stated.
    """
    if "h_star" not in instance.reference:
        raise ValueError("ec_ideal needs the clients' gradients at x* (h_star): quadratic problems only")
    result, _ = _run(kernels.ECIDEAL, instance, params, budget, rng, "ef", h_star=instance.reference["h_star"])
    return result
