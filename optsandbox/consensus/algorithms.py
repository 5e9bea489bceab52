"""Runners of the consensus family: draw rho_0, call a kernel, name the columns, state the theory.

Each ``run_*`` has the signature ``run(instance, params, budget, rng) -> Result``. Particles (or starting
points) are drawn from the problem's rho_0 with ``rng``; the kernels' noise comes from a seed drawn from
the same ``rng`` (counter-based streams, see :mod:`.rng`).

The theorem behind the CBO bound (Fornasier, Klock, Riedl, "Consensus-based optimization methods converge
globally", SIAM J. Optim. 2024, isotropic; "Convergence of anisotropic consensus-based optimization in
mean-field law", EvoApplications 2022): with V(t) = (1/2) E||X_t - x*||^2, 2 lam > d sigma^2 (isotropic) or
2 lam > sigma^2 (anisotropic), tau in (0, 1) and alpha large enough,

    V(t) <= V(0) exp(-(1 - tau) (2 lam - d sigma^2) t)       (anisotropic: sigma^2 instead of d sigma^2)

until V reaches the accuracy epsilon. The measured quantity is the particle average (1/2N) sum ||X^i - x*||^2
(averaged over the M runs) against t = k dt, so a scenario's bound uses ``axis = "time"``. [uncertain, settled
here] The theorem is stated for the mean-field law; the Euler-Maruyama scheme with the consensus held at x*
contracts E||X - x*||^2 by (1 - lam dt)^2 + d sigma^2 dt per step, i.e. at the rate
-ln((1 - lam dt)^2 + d sigma^2 dt) / dt per unit time, which differs from 2 lam - d sigma^2 by O(dt)
(0.3-0.4% at dt = 0.01 in the FKR setting). We report the continuous rate (the theorem's) as the theory and the
discrete one as the event ``discrete_rate``; tolerances in the scenarios cover the O(dt) gap. The theorem
needs a fixed alpha: with an alpha schedule, or with 2 lam <= d sigma^2, the bound is "outside theory".

Other [uncertain] items of the family spec, settled here:

* tau: a run parameter (default 0, the mean-field ideal); the theorem's alpha_0 is not computable, so
  "alpha large" is not checked -- the rate scenarios use alpha = 1e15 as the authors' experiments do.
* Fit window (spec 4.2): rates.py fits a tail fraction, so the window is applied here as the column
  ``V_fit`` (V/V_0 inside the window, NaN outside), and the scenarios bound ``V_fit`` with ``tail = 1``.
* Anisotropic noise is sigma sqrt(dt) |D| (.) xi, the SDE's diag(|X - c|) dB; CBXpy's D (.) xi has the same
  law because xi is symmetric.
* Oracle count: the energies at X_K are evaluated too (c_K is the output), so f_evals = (K + 1) N per run.
* Annealed Langevin: the spec's counter starts at k = 1 with log(k + 1); the kernel's k = 0 uses log 2.
* Success: ||output - x*||_inf < success_radius (0.25, CBXpy's dist_to_min), output = final consensus by
  default or CBXpy's best particle, with a Wilson 95% interval over the runs.
* Consensus hopping: no rate theorem is attached (GAYN's statements are not available here); the checked
  fact is the derived N -> infinity limit on quadratics (the proximal step) and its Monte-Carlo gap.
"""
from __future__ import annotations

import math
import os
from contextlib import contextmanager

import numpy as np

from ..api import Instance, Result, Theory
from ..kernels.recording import capacity
from . import kernels
from .kernels import CBO_COLUMNS, GRADIENT_COLUMNS, HOPPING_COLUMNS
from .problems import sample_init

NOISES = {"isotropic": kernels.ISOTROPIC, "anisotropic": kernels.ANISOTROPIC}
NOISE_POINTS = {"pre_drift": kernels.PRE_DRIFT, "post_drift": kernels.POST_DRIFT}
CBX_ALPHA_FACTOR = 1.05  # CBXpy's default schedule in optimize(): alpha <- min(1.05 alpha, 1e5)
CBX_ALPHA_MAX = 1e5


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Return the Wilson score interval (95% by default) of a binomial proportion."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def effective_noise_dim(noise: str, dim: int) -> int:
    """Return the factor of sigma^2 in the rate: d for isotropic noise, 1 for anisotropic."""
    return dim if noise == "isotropic" else 1


def regime(params: dict, dim: int) -> str:
    """Return "rate-theorem" when 2 lam > d_eff sigma^2 and alpha is fixed, else "outside-theorem"."""
    margin = 2.0 * params["lam"] - effective_noise_dim(params["noise"], dim) * params["sigma"] ** 2
    fixed = params["alpha_schedule"] == "none"
    return "rate-theorem" if margin > 0 and fixed else "outside-theorem"


def cbo_theory(params: dict, dim: int) -> Theory:
    """Return the theorem's rate of V per unit time, or why it does not apply."""
    lam, sigma, tau = params["lam"], params["sigma"], params["tau"]
    d_eff = effective_noise_dim(params["noise"], dim)
    margin = 2.0 * lam - d_eff * sigma * sigma
    which = "2 lam > d sigma^2" if params["noise"] == "isotropic" else "2 lam > sigma^2"
    if margin <= 0:
        return Theory("exp", math.nan, False,
                      f"{which} fails: 2*{lam:g} - {d_eff}*{sigma:g}^2 = {margin:.4g} <= 0")
    if params["alpha_schedule"] != "none":
        return Theory("exp", math.nan, False, f"the theorem needs a fixed alpha, not the "
                                              f"{params['alpha_schedule']!r} schedule")
    if not tau < 1.0:
        # The theorem takes tau in (0, 1); tau >= 1 would state a zero or negative "rate" (spec 4.2: never).
        return Theory("exp", math.nan, False, f"the theorem needs tau < 1, got tau = {tau:g}")
    return Theory("exp", (1.0 - tau) * margin)


def discrete_rate(params: dict, dim: int) -> float:
    """Return -ln(E||X_{k+1} - x*||^2 / E||X_k - x*||^2) / dt for the EM step with the consensus at x*."""
    lam, sigma, dt = params["lam"], params["sigma"], params["dt"]
    d_eff = effective_noise_dim(params["noise"], dim)
    if params["noise_point"] == "post_drift":
        factor = (1 - lam * dt) ** 2 * (1 + d_eff * sigma * sigma * dt)
    else:
        factor = (1 - lam * dt) ** 2 + d_eff * sigma * sigma * dt
    return -math.log(factor) / dt


def fit_window(v_normalized: np.ndarray) -> np.ndarray:
    """Return V/V_0 where the spec's fit window holds, NaN elsewhere (the column ``V_fit``).

    Window (family spec 4.2): after the initial transient, ln V_k <= ln V_0 - 0.5, and before the floor,
    ln V_k >= ln V_floor + 2, with V_floor the median of the last 10% of the records. The floor is set by
    alpha, N and dt, not by the theorem, so fitting it would mix two regimes. rates.py fits the finite
    points only, so a bound on ``V_fit`` with ``tail = 1`` fits exactly this window.
    """
    v = np.asarray(v_normalized, dtype=float)
    out = np.full_like(v, np.nan)
    finite = np.isfinite(v) & (v > 0)
    if finite.sum() < 3:
        return out
    vals = v[finite]
    floor = float(np.median(vals[-max(1, len(vals) // 10):]))
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = np.log(v)
    keep = finite & (logv <= math.log(vals[0]) - 0.5) & (logv >= math.log(floor) + 2.0)
    out[keep] = v[keep]
    return out


# Below this many coordinate updates per step a kernel runs on one thread: each prange ends in a barrier,
# and on a shared machine a barrier waits for a descheduled worker (measured on the 2-core CI machine under
# load: 10-30x slower with 2 threads at N d = 2e4). Results do not depend on the thread count (rng.py).
PARALLEL_MIN_WORK = 2_000_000


@contextmanager
def threads_for(work: int):
    """Run the body with one numba thread when ``work`` is small, all of them otherwise."""
    import numba

    before = numba.get_num_threads()
    wanted = int(os.environ.get("OPTSANDBOX_THREADS", 0)) or (1 if work < PARALLEL_MIN_WORK else before)
    numba.set_num_threads(max(1, min(wanted, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2 ** 31 - 1))


def _columns(records: np.ndarray, names: tuple[str, ...]) -> dict:
    return {name: records[:, k].copy() for k, name in enumerate(names)}


def _success_events(outputs: np.ndarray, x_star: np.ndarray, radius: float) -> dict:
    """Return success_rate (||output - x*||_inf < radius over the runs), its Wilson interval, distances."""
    dist_inf = np.max(np.abs(outputs - x_star), axis=1)
    ok = dist_inf < radius
    ok &= np.isfinite(dist_inf)
    low, high = wilson_interval(int(ok.sum()), len(ok))
    return {"success_rate": float(ok.mean()), "success_low": low, "success_high": high,
            "runs": float(len(ok)), "final_dist_inf": float(np.median(dist_inf))}


def cbo_arrays(instance: Instance, params: dict, budget, rng: np.random.Generator):
    """Run :func:`kernels.cbo_kernel`; return (records, X, consensus, best, best_energy, info)."""
    d = instance.dim
    M, N = params["runs"], params["particles"]
    X = sample_init(instance.reference, (M, N, d), rng)
    if params["alpha_schedule"] == "cbx_default":
        factor, alpha_max = CBX_ALPHA_FACTOR, CBX_ALPHA_MAX
    else:
        factor, alpha_max = 1.0, params["alpha"]
    records = np.full((capacity(budget.iterations, budget.record_every), len(CBO_COLUMNS)), np.nan)
    consensus = np.zeros((M, d))
    best = np.zeros((M, d))
    best_energy = np.zeros(M)
    info = np.zeros(3, dtype=np.int64)
    with threads_for(M * N * d):
        kernels.cbo_kernel(instance.oracles["energy"], instance.data, X,
                           np.ascontiguousarray(instance.reference["x_star"], dtype=np.float64),
                           NOISES[params["noise"]], NOISE_POINTS[params["noise_point"]],
                           float(params["lam"]), float(params["sigma"]), float(params["dt"]),
                           float(params["alpha"]), factor, max(alpha_max, float(params["alpha"])),
                           int(budget.iterations), int(budget.record_every), _seed(rng), records, consensus,
                           best, best_energy, info)
    return records[:int(info[0])], X, consensus, best, best_energy, info


def run_cbo(instance: Instance, params: dict, budget, rng) -> Result:
    """CBO, Euler-Maruyama particle scheme with isotropic or anisotropic noise.

    Pinnau, Totzeck, Tse, Martin (M3AS 2017); analysed by Fornasier, Klock, Riedl (SIAM J. Optim. 2024;
    anisotropic: EvoApplications 2022). With c_alpha = sum_i w_i X^i / sum_i w_i, w_i = exp(-alpha (f(X^i) -
    min_j f(X^j))):  X^i <- X^i - lam dt (X^i - c_alpha) + sigma sqrt(dt) ||X^i - c_alpha|| xi^i (isotropic)
    or
    sigma sqrt(dt) |X^i - c_alpha| (.) xi^i (anisotropic), xi^i ~ N(0, I). Theory: V decays at
    (1 - tau)(2 lam - d sigma^2), anisotropic (1 - tau)(2 lam - sigma^2), per unit time (module docstring).
    ``runs`` ensembles advance in one kernel call; columns are averaged over them; success is
    ||output - x*||_inf < success_radius with output = the final consensus or CBXpy's best particle.
    """
    records, X, consensus, best, best_energy, info = cbo_arrays(instance, params, budget, rng)
    columns = _columns(records, CBO_COLUMNS)
    v = columns["V"]
    columns["V_normalized"] = v / v[0] if v.size and v[0] > 0 else v * np.nan
    columns["V_fit"] = fit_window(columns["V_normalized"])
    outputs = consensus if params["output"] == "consensus" else best
    x_star = instance.reference["x_star"]
    events = _success_events(outputs, x_star, params["success_radius"])
    events["discrete_rate"] = discrete_rate(params, instance.dim)
    events["f_evals"] = float(records[-1, 2]) if len(records) else 0.0
    events["final_value"] = float(np.median([instance.oracles["energy"](o, instance.data) for o in outputs]))
    rate = cbo_theory(params, instance.dim)
    theory = {"V": rate, "V_normalized": rate, "V_fit": rate}
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]),
                  theory=theory, final={"consensus": consensus, "best_particle": best})


def prox_point(x: np.ndarray, b: np.ndarray, curvatures: np.ndarray, alpha: float,
               sigma: float) -> np.ndarray:
    """Return the N -> infinity CH step on (1/2) sum a_i (x_i - b_i)^2: b + (x - b) / (1 + alpha sigma^2 a).

    The tilted density exp(-alpha f(y)) N(y; x, sigma^2 I) is Gaussian with precision alpha A + I / sigma^2
    and mean b + (I + alpha sigma^2 A)^{-1} (x - b): the proximal step prox_{alpha sigma^2 f}(x).
    """
    return b + (x - b) / (1.0 + alpha * sigma * sigma * curvatures)


def run_consensus_hopping(instance: Instance, params: dict, budget, rng) -> Result:
    """Consensus hopping (CH): x_{k+1} = c_alpha({Y^i}), Y^1..Y^N ~ N(x_k, sigma^2 I) i.i.d.

    Riedl, Klock, Geldhauser, Fornasier, "Gradient is All You Need?" (arXiv 2306.09778): as N -> infinity
    the step is the mean of the density proportional to exp(-alpha f(y) - ||y - x_k||^2 / (2 sigma^2)); on a
    quadratic it is exactly the proximal step (I + alpha sigma^2 A)^{-1} x_k, so CH is a stochastic relaxation
    of implicit gradient descent with step alpha sigma^2. Optional "scheduled vanishing BM": sigma <-
    sigma_factor * sigma every sigma_every steps. On the quadratic problem with record_every = 1 the event
    ``prox_gap_mean`` is the mean over steps and runs of ||x_{k+1} - prox(x_k)||, whose theory is the
    Monte-Carlo slope -1/2 in N (self-normalized importance sampling: bias O(1/N), spread O(1/sqrt N)).
    """
    d = instance.dim
    M, N = params["runs"], params["particles"]
    x = sample_init(instance.reference, (M, d), rng)
    rows_max = capacity(budget.iterations, budget.record_every)
    records = np.full((rows_max, len(HOPPING_COLUMNS)), np.nan)
    want_path = "curvatures" in instance.reference and budget.record_every == 1
    path = np.zeros((rows_max if want_path else 1, M * d))
    info = np.zeros(3, dtype=np.int64)
    x_star = np.ascontiguousarray(instance.reference["x_star"], dtype=np.float64)
    with threads_for(M * N * d):
        kernels.hopping_kernel(instance.oracles["energy"], instance.data, x, x_star, int(N),
                               float(params["sigma"]), float(params["sigma_factor"]),
                               int(params["sigma_every"]),
                               float(params["alpha"]), int(budget.iterations), int(budget.record_every),
                               _seed(rng), records, path, info)
    rows = int(info[0])
    records = records[:rows]
    columns = _columns(records, HOPPING_COLUMNS)
    events = _success_events(x, x_star, params["success_radius"])
    events["f_evals"] = float(records[-1, 1]) if rows else 0.0
    theory = {}
    if want_path and rows >= 2 and params["sigma_every"] == 0:
        P = path[:rows].reshape(rows, M, d)
        ok = np.isfinite(P).all(axis=(1, 2))
        gaps = []
        for k in range(rows - 1):
            if ok[k] and ok[k + 1] and records[k + 1, 0] == records[k, 0] + 1:
                target = prox_point(P[k], x_star, instance.reference["curvatures"], params["alpha"],
                                    params["sigma"])
                gaps.append(np.linalg.norm(P[k + 1] - target, axis=1))
        if gaps:
            events["prox_gap_mean"] = float(np.mean(gaps))
            theory["prox_gap_mean"] = Theory("power", -0.5)
    return Result(columns=columns, events=events, status=int(info[1]), stop_iteration=int(info[2]),
                  theory=theory, final={"x": x})


def _gradient(instance: Instance, params: dict, budget, rng, temperature: float) -> Result:
    d = instance.dim
    M = params["runs"]
    x = sample_init(instance.reference, (M, d), rng)
    records = np.full((capacity(budget.iterations, budget.record_every), len(GRADIENT_COLUMNS)), np.nan)
    info = np.zeros(3, dtype=np.int64)
    x_star = np.ascontiguousarray(instance.reference["x_star"], dtype=np.float64)
    with threads_for(M * d):
        kernels.gradient_kernel(instance.oracles["grad"], instance.oracles["energy"], instance.data, x,
                                x_star,
                                float(params["lr"]), float(temperature), int(budget.iterations),
                                int(budget.record_every), _seed(rng), records, info)
    records = records[:int(info[0])]
    events = _success_events(x, x_star, params["success_radius"])
    return Result(columns=_columns(records, GRADIENT_COLUMNS), events=events, status=int(info[1]),
                  stop_iteration=int(info[2]), theory={}, final={"x": x})


def run_gradient_descent(instance: Instance, params: dict, budget, rng) -> Result:
    """Gradient descent x <- x - eta grad f(x) from a draw of rho_0 (the baseline of GAYN, section 6.3).

    Uses the analytic gradient of the objective (all the family's objectives are differentiable away from
    Ackley's minimizer, where the zero subgradient is taken). One gradient per step and run.
    """
    return _gradient(instance, params, budget, rng, 0.0)


def run_annealed_langevin(instance: Instance, params: dict, budget, rng) -> Result:
    """Annealed Langevin x_{k+1} = x_k - eta grad f(x_k) + (sigma_L / log(k + 1)) sqrt(eta) xi_k, k >= 1.

    The comparison of GAYN's landscape experiments (the authors' MATLAB code): gradient descent with a
    logarithmically cooled Brownian term, started from a draw of rho_0.
    """
    return _gradient(instance, params, budget, rng, params["temperature"])
