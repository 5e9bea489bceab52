"""Runners of the games family: certify the game, pick the step, call the dynamics kernel, state the theory.

Each ``run_*`` has the family-independent signature ``run(instance, params, budget, rng) -> Result``.
The theorems behind the bounds (Sharma 2025, arXiv 2512.06791, as reconstructed in the family spec):

* SGN Euler (spec 3.2): ||x_{k+1} - x*||_M <= sqrt(1 - 2 h alpha_* + h^2 beta^2) ||x_k - x*||_M for
  0 < h < 2 alpha_* / beta^2: an exp bound on ``dist_M`` per iteration with rate -log(factor).
* SGN flow (spec 3.1): ||x(t) - x*||_M <= exp(-alpha_* t) ||x(0) - x*||_M: an exp bound on ``dist_M`` per
  unit time, measured on an RK4 integration with a small dt.
* RK4 (spec 3.3): no theorem in the paper; for linear games the exact M-norm kappa = ||M^{1/2} R_4(-hH)
  M^{-1/2}||_2 of the RK4 map bounds the per-step factor (x* is a fixed point, and the box projection is
  nonexpansive in every diagonal metric), so the bound is certified exactly when kappa < 1.
* Rosen / Euclidean GDA (spec 8.2): factor sqrt(1 - 2 h gamma + h^2 L_F^2) on ``dist_euclid`` when
  gamma = lambda_min(sym dF) > 0 and h < 2 gamma / L_F^2.
* TTUR (spec 8.3): with D = diag(h_i), P = D^{-1} M, factor sqrt(1 - 2 alpha_* h_min + beta_P^2) on
  ``dist_P`` with beta_P = ||P^{1/2} D dF P^{-1/2}||_2.
* NPG / EPG on the Markov game (spec 5): Euler on the natural field Fisher^{-1} F (certificate in the
  Fisher metric at theta*) or on F (certificate in Euclidean logits); the same factor as SGN Euler.

When the run lies outside a theorem's conditions (no certificate, step beyond the safe range, initial
M-ball leaving the sampled region of a non-quadratic game), the Theory says which condition fails.

Step choice: ``h > 0`` is used as given. ``h = 0`` means ``step_fraction`` times the algorithm's own
certified step bound (2 alpha_*/beta^2 for SGN Euler, 2.5/beta for RK4, 2 gamma/L_F^2 for Rosen, the TTUR
bound); when that certificate fails there is no safe step, and ``step_fraction * 2 / L_F`` is used
(what one would try knowing only the Euclidean Lipschitz constant) -- reported as outside theory.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance, Result, Theory
from ..kernels.recording import capacity
from . import certificate as sgn
from . import kernels
from .kernels import COLUMNS

# Relative slack of the one-step check: dist_P is computed in floating point (relative error ~1e-15 per
# step), so a measured ratio may exceed an exactly tight certified factor by a few ulps.
RATIO_SLACK = 1e-9


def certificate_of(instance: Instance, weights: str = "margin", rk4: bool = False) -> sgn.Certificate:
    """Return the SGN certificate of the instance's game (cached on the instance)."""
    cache = instance.__dict__.setdefault("_certificates", {})
    key = (weights, rk4)
    if key not in cache:
        ref = instance.reference
        if "certificate" in ref and (weights == "margin" or "certificate_natural" in ref):
            if weights != "margin":
                raise ValueError(f"weights = {weights!r}: this game's certificates are built with the "
                                 f"margin-optimal weights only")
            cache[key] = ref["certificate"]
        elif "region" in ref:
            cache[key] = sgn.certify(instance.data, instance.oracles["jacobian"], np.zeros(instance.dim),
                                     float(ref["region"]), interior=16, rng=np.random.default_rng(0),
                                     weights=weights, rk4=rk4)
        else:
            cache[key] = sgn.certify(instance.data, weights=weights, rk4=rk4)
    return cache[key]


def simulate(instance: Instance, scheme: int, steps: np.ndarray, time_step: float, w_M: np.ndarray,
             w_P: np.ndarray, budget, x0: np.ndarray | None = None, field: str = "pseudo_grad"):
    """Run the dynamics kernel on the vector field ``field`` (an oracle name: "pseudo_grad", or
    "natural_grad" for the Markov game); return (columns, status, stop_iteration, final x, stats)."""
    ref = instance.reference
    rows_max = capacity(budget.iterations, budget.record_every)
    records = np.full((rows_max, len(COLUMNS)), np.nan)
    x = np.empty(instance.dim)
    stats = np.zeros(2)
    info = np.zeros(3, dtype=np.int64)
    start = np.ascontiguousarray(ref["x0"] if x0 is None else x0, dtype=np.float64)
    xstar = np.asarray(ref["x_star"], dtype=np.float64)
    # One-step ratios are checked only above the rounding level: relative 1e-16 of x* (1e-7 leaves nine
    # digits of margin) plus the field's own absolute rounding floor where the game states one.
    floor = 1e-7 * float(np.sqrt(np.sum(w_P * xstar * xstar))) + float(ref.get("rounding_floor", 0.0)) + 1e-200
    kernels.dynamics_kernel(instance.oracles[field], instance.oracles["project"], scheme,
                            instance.data, start, np.ascontiguousarray(ref["x_star"], dtype=np.float64),
                            np.ascontiguousarray(w_M, dtype=np.float64), np.ascontiguousarray(w_P, dtype=np.float64),
                            np.ascontiguousarray(steps, dtype=np.float64), float(time_step), floor,
                            int(budget.iterations), int(budget.record_every), records, x, stats, info)
    rows = int(info[0])
    columns = {name: records[:rows, k].copy() for k, name in enumerate(COLUMNS)}
    return columns, int(info[1]), int(info[2]), x, stats


def _events(cert: sgn.Certificate, h: float, stats, factor: float, safe: float, **extra) -> dict:
    ratio = float(stats[0])
    ev = {"alpha_star": cert.alpha_star, "alpha_max": cert.alpha_max, "beta": cert.beta,
          "euclid_margin": cert.euclid_margin, "small_gain_ratio": cert.small_gain_ratio, "step": h,
          "safe_step": safe, "step_over_safe": h / safe if safe > 0 else math.inf,
          "certified": float(cert.certified), "euclid_certified": float(cert.euclid_certified),
          "max_step_ratio": ratio, "certified_factor": factor,
          # <= 1 when the certified factor held at every step. (A ratio, not a difference: the claim
          # functions read negative events as "never happened".)
          "ratio_over_factor": ratio / (factor * (1 + RATIO_SLACK)) if math.isfinite(factor) and factor > 0
          else math.nan}
    ev.update(extra)
    return ev


def _region_condition(instance: Instance, cert: sgn.Certificate, w: np.ndarray, x0=None) -> str:
    """Return "" when the initial P-ball lies in the certified region (always for quadratic games)."""
    ref = instance.reference
    if "region" not in ref:
        return ""
    x0 = ref["x0"] if x0 is None else x0
    e = np.asarray(x0) - ref["x_star"]
    radius = float(np.sqrt(np.sum(w * e * e)) / np.sqrt(np.min(w)))
    if radius > float(ref["region"]):
        return (f"the initial ball of the metric reaches {radius:.3g} > region {float(ref['region']):g}: "
                f"iterates may leave the sampled box")
    return ""


def _rate(factor: float) -> float:
    return -math.log(max(factor, 1e-300))


def _fallback_step(cert: sgn.Certificate, fraction: float) -> float:
    return fraction * 2.0 / cert.euclid_lipschitz


def _no_certificate(cert: sgn.Certificate) -> str:
    return (f"no SGN certificate: best margin alpha_max = {cert.alpha_max:.3g} <= 0 (small-gain ratio "
            f"rho(diag(mu)^-1 L) = {cert.small_gain_ratio:.3g} >= 1)")


def _euler_run(instance: Instance, params: dict, budget, cert: sgn.Certificate, h: float, field: str,
               safe: float) -> Result:
    """Projected Euler on ``field`` with step h; theory from ``cert`` (factor sqrt(1 - 2 h a + h^2 b^2))."""
    w = cert.metric()
    steps = np.full(instance.dim, h)
    columns, status, stop, x, stats = simulate(instance, kernels.EULER, steps, h, w, w, budget, field=field)
    factor = cert.euler_factor(h) if cert.certified else math.nan
    if not cert.certified:
        condition = _no_certificate(cert)
    elif not 0 < h < safe:
        condition = f"h = {h:.4g} is outside the certified range (0, 2 alpha_*/beta^2) = (0, {safe:.4g})"
    else:
        condition = _region_condition(instance, cert, w)
    theory = {"dist_M": Theory("exp", _rate(factor) if not condition else math.nan, not condition, condition)}
    events = _events(cert, h, stats, factor if not condition else math.nan, safe,
                     euler_threshold=cert.euler_threshold)
    return Result(columns=columns, events=events, status=status, stop_iteration=stop, theory=theory,
                  final={"x": x})


def run_sgn_euler(instance: Instance, params: dict, budget, rng) -> Result:
    """SGN projected Euler (simultaneous gradient play): x_{k+1} = Pi_X(x_k - h F(x_k)), blockwise Pi.

    Sharma (2025), Small-Gain Nash, arXiv 2512.06791: F is alpha_*(w)-strongly monotone and beta-Lipschitz
    in ||.||_M(w), so for 0 < h < 2 alpha_*/beta^2 the iterates contract by sqrt(1 - 2 h alpha_* +
    h^2 beta^2) per step in ||.||_M (spec 3.2). Weights: "margin" (alpha-optimal: closed form for two
    players, Perron weights otherwise) or "euler" (two players: maximize alpha_*/beta^2). The kernel checks
    the certified factor at every step (event ``ratio_over_factor`` <= 1).
    """
    cert = certificate_of(instance, params["weights"])
    safe = cert.euler_step_max
    h = params["h"] if params["h"] > 0 else (params["step_fraction"] * safe if cert.certified
                                               else _fallback_step(cert, params["step_fraction"]))
    return _euler_run(instance, params, budget, cert, h, "pseudo_grad", safe)


def _natural_certificate(instance: Instance) -> sgn.Certificate:
    cert = instance.reference.get("certificate_natural")
    if cert is None:
        raise ValueError("natural policy gradient needs a Markov game (problem 'markov')")
    return cert


def run_npg(instance: Instance, params: dict, budget, rng) -> Result:
    """Natural policy gradient: theta_{k+1} = theta_k - eta Fisher(theta_k)^{-1} F(theta_k) (both players).

    Kakade, A natural policy gradient (NeurIPS 2001), in the SGN analysis of Sharma (2025, arXiv
    2512.06791, Markov module; spec section 5): NPG is Euler on the natural field G = Fisher^{-1} F. The
    certificate is SGN's, applied to G in the Fisher metric at theta* (constants of Fisher*^{1/2} dG
    Fisher*^{-1/2} sampled on the cube of radius ``region``), so for 0 < eta < 2 alpha_*/beta^2 the
    iterates contract by sqrt(1 - 2 eta alpha_* + eta^2 beta^2) per step in ||.||_M, M = blockdiag(w_i
    Fisher_i(theta*)) -- a heuristic certificate (sampled constants). Default eta = step_fraction x eta_max
    (the spec's runs use 1/2).
    """
    cert = _natural_certificate(instance)
    safe = cert.euler_step_max
    h = params["h"] if params["h"] > 0 else params["step_fraction"] * safe
    return _euler_run(instance, params, budget, cert, h, "natural_grad", safe)


def run_epg(instance: Instance, params: dict, budget, rng) -> Result:
    """Euclidean policy gradient: theta_{k+1} = theta_k - eta F(theta_k) (simultaneous, both players).

    Williams (1992) / Sutton et al. (2000) policy gradient with exact gradients, the baseline of the SGN
    paper's Markov experiments (Sharma 2025, arXiv 2512.06791): the same eta as NPG (``step_fraction`` x
    NPG's eta_max), certified -- when it is -- by SGN applied to F in Euclidean logits.
    """
    cert = certificate_of(instance, "margin")
    h = params["h"] if params["h"] > 0 else params["step_fraction"] * _natural_certificate(instance).euler_step_max
    return _euler_run(instance, params, budget, cert, h, "pseudo_grad", cert.euler_step_max)


def run_sgn_rk4(instance: Instance, params: dict, budget, rng) -> Result:
    """RK4 on the pseudo-gradient field: x_{k+1} = Pi_X(x + h (k1 + 2 k2 + 2 k3 + k4)/6), k1 = -F(x), ...

    Sharma (2025), arXiv 2512.06791, RK4 discretization: the authors' code gives the guideline
    h <= 2.5/beta (not a theorem; spec 3.3). What we certify instead (linear games): the per-step factor
    kappa = ||M^{1/2} R_4(-h H) M^{-1/2}||_2 in the certificate's metric (x* is fixed by the map, the box
    projection is nonexpansive), so ``dist_M`` decays at least at rate -log kappa per step when kappa < 1.
    Default step: ``step_fraction`` x the guideline.
    """
    cert = certificate_of(instance, params["weights"])
    guideline = cert.rk4_guideline
    h = params["h"] if params["h"] > 0 else (params["step_fraction"] * guideline if cert.certified
                                               else _fallback_step(cert, params["step_fraction"]))
    w = cert.metric()
    columns, status, stop, x, stats = simulate(instance, kernels.RK4, np.full(instance.dim, h), h, w, w, budget)
    kappa = math.nan
    if not cert.linear:
        condition = "RK4 on a non-linear game: only the guideline h <= 2.5/beta is known, no theorem"
    else:
        H = instance.reference["H"]
        kappa = float(np.linalg.norm(sgn.rk4_matrix(sgn.weighted(H, cert.weights, cert.offsets), h), 2))
        condition = "" if kappa < 1 else (f"||M^1/2 R4(-hH) M^-1/2|| = {kappa:.4g} >= 1 at h = {h:.4g}: the "
                                          f"RK4 map is not a contraction in the SGN metric")
    theory = {"dist_M": Theory("exp", _rate(kappa) if not condition else math.nan, not condition, condition)}
    events = _events(cert, h, stats, kappa if not condition else math.nan, guideline, rk4_guideline=guideline,
                     rk4_factor=kappa)
    return Result(columns=columns, events=events, status=status, stop_iteration=stop, theory=theory,
                  final={"x": x})


def flow_weights(cert: sgn.Certificate, params: dict) -> tuple[np.ndarray, str]:
    """Return the block weights of a flow run: the certificate's, or a band edge times ``edge_factor``."""
    edge = params["band_edge"]
    if edge == "none":
        return cert.weights, ""
    if cert.N != 2:
        raise ValueError(f"band_edge = {edge!r} needs a two-player game (this one has {cert.N} players)")
    if cert.band is None:
        raise ValueError(f"band_edge = {edge!r}: the game has no certified band ({_no_certificate(cert)})")
    r = (cert.band[0] if edge == "low" else cert.band[1]) * params["edge_factor"]
    return np.array([1.0 / r, 1.0]), f"r = w2/w1 = {r:.4g} ({params['edge_factor']:g} x the {edge} band edge)"


def worst_start(instance: Instance, cert: sgn.Certificate, w: np.ndarray) -> np.ndarray:
    """Return x* + s v with v the direction of least M-monotonicity of dF(x*) (same Euclidean distance as
    the problem's x0): along it d/dt ||x - x*||_M^2 starts at -2 alpha_true(w) ||x - x*||_M^2."""
    ref = instance.reference
    J = np.empty((instance.dim, instance.dim))
    instance.oracles["jacobian"](np.ascontiguousarray(ref["x_star"], dtype=np.float64), instance.data, J)
    A = sgn.weighted(J, w, cert.offsets)
    vals, vecs = np.linalg.eigh(0.5 * (A + A.T))
    v = vecs[:, 0] / np.sqrt(sgn.expand(w, cert.offsets))
    s = np.linalg.norm(ref["x0"] - ref["x_star"]) / np.linalg.norm(v)
    return ref["x_star"] + s * v


def run_sgn_flow(instance: Instance, params: dict, budget, rng) -> Result:
    """SGN continuous flow x' = -F(x), integrated by RK4 with a small dt (column ``time`` = k dt).

    Sharma (2025), arXiv 2512.06791: with alpha_*(w) > 0 the flow satisfies d/dt ||x - x*||_M^2 <=
    -2 alpha_* ||x - x*||_M^2, so ||x(t) - x*||_M <= exp(-alpha_* t) ||x(0) - x*||_M (spec 3.1). The
    weights are the certificate's, or (``band_edge`` = "low"/"high") the ratio r = w2/w1 at that edge of
    the band times ``edge_factor``: inside the band the M-norm decays monotonically, outside it need not.
    ``start = "worst"`` starts along the least-monotone direction of the chosen metric. dt = 0 picks
    0.01 / L_F (RK4 local error ~ (dt L_F)^5 / 120, far below the fitted rates).
    """
    cert = certificate_of(instance, "margin")
    w_blocks, note = flow_weights(cert, params)
    w = sgn.expand(w_blocks, cert.offsets)
    alpha = sgn.margin(cert.mu, cert.L, w_blocks)
    dt = params["dt"] if params["dt"] > 0 else 0.01 / cert.euclid_lipschitz
    x0 = worst_start(instance, cert, w_blocks) if params["start"] == "worst" else None
    columns, status, stop, x, stats = simulate(instance, kernels.RK4, np.full(instance.dim, dt), dt, w, w,
                                               budget, x0=x0)
    if alpha <= 0:
        condition = (f"alpha_*(w) = {alpha:.3g} <= 0" + (f" at {note}, outside the band" if note else "")
                     + ("" if cert.certified else f"; {_no_certificate(cert)}"))
    elif dt * cert.euclid_lipschitz > 0.05:
        condition = f"dt L_F = {dt * cert.euclid_lipschitz:.3g} > 0.05: the RK4 integration is not a flow proxy"
    else:
        condition = _region_condition(instance, cert, w, x0)
    theory = {"dist_M": Theory("exp", alpha if not condition else math.nan, not condition, condition)}
    factor = math.exp(-alpha * dt) if not condition else math.nan
    extra = {"alpha_w": alpha, "weight_ratio": float(w_blocks[-1] / w_blocks[0]), "dt": dt}
    if cert.band is not None:
        extra.update(band_low=cert.band[0], band_high=cert.band[1])
    if cert.linear:
        extra["alpha_true_w"] = sgn.alpha_true(instance.reference["H"], w_blocks, cert.offsets)
    events = _events(cert, dt, stats, factor, 0.05 / cert.euclid_lipschitz, **extra)
    return Result(columns=columns, events=events, status=status, stop_iteration=stop, theory=theory,
                  final={"x": x})


def run_euclid_gda(instance: Instance, params: dict, budget, rng) -> Result:
    """Gradient play certified the Euclidean way (Rosen 1965): x_{k+1} = Pi_X(x_k - h F(x_k)).

    Rosen, Existence and uniqueness of equilibrium points for concave n-person games (Econometrica 1965):
    diagonal strict concavity, here gamma = inf lambda_min(sym dF) > 0. Then F is gamma-strongly monotone
    and L_F-Lipschitz in the Euclidean norm, and for 0 < h < 2 gamma / L_F^2 the iterates contract by
    sqrt(1 - 2 h gamma + h^2 L_F^2) per step in ||.||_2 (spec 8.2). The same update as SGN Euler; only the
    certificate (and hence the default step) differs.
    """
    cert = certificate_of(instance, "margin")
    gamma, LF = cert.euclid_margin, cert.euclid_lipschitz
    safe = cert.euclid_step_max
    h = params["h"] if params["h"] > 0 else (params["step_fraction"] * safe if cert.euclid_certified
                                               else _fallback_step(cert, params["step_fraction"]))
    ones = np.ones(instance.dim)
    columns, status, stop, x, stats = simulate(instance, kernels.EULER, np.full(instance.dim, h), h,
                                               cert.metric(), ones, budget)
    if gamma <= 0:
        condition = (f"Rosen's condition fails: lambda_min(sym dF) = {gamma:.3g} <= 0 (F is not Euclidean "
                     f"monotone)")
    elif not 0 < h < safe:
        condition = f"h = {h:.4g} is outside the Euclidean range (0, 2 gamma/L_F^2) = (0, {safe:.4g})"
    else:
        condition = _region_condition(instance, cert, ones)
    factor = math.sqrt(max(1 - 2 * h * gamma + (h * LF) ** 2, 0.0)) if not condition else math.nan
    theory = {"dist_euclid": Theory("exp", _rate(factor) if not condition else math.nan, not condition,
                                    condition)}
    events = _events(cert, h, stats, factor, safe)
    return Result(columns=columns, events=events, status=status, stop_iteration=stop, theory=theory,
                  final={"x": x})


def ttur_steps(cert: sgn.Certificate, ratio: float) -> np.ndarray:
    """Return the relative per-coordinate steps: 1 for player 1, ``ratio`` for every other player."""
    rel = np.full(cert.N, ratio)
    rel[0] = 1.0
    return sgn.expand(rel, cert.offsets)


def ttur_constants(instance: Instance, cert: sgn.Certificate, rel: np.ndarray) -> tuple[float, float]:
    """Return (b, safe h): beta_P = h b, and the certified range 0 < h < 2 alpha_* min(rel) / b^2."""
    if cert.linear:
        A = sgn.weighted(instance.reference["H"], cert.weights, cert.offsets)
        s = np.sqrt(rel)
        b = float(np.linalg.norm(s[:, None] * A * s[None, :], 2))
    else:
        b = float(np.max(rel)) * cert.beta
    safe = 2 * cert.alpha_star * float(np.min(rel)) / b ** 2 if cert.certified else 0.0
    return b, safe


def run_ttur(instance: Instance, params: dict, budget, rng) -> Result:
    """Two-timescale gradient play (TTUR): x_{i,k+1} = Pi_i(x_{i,k} - h_i F_i(x_k)), h_1 = h, h_i = h r.

    Heusel et al. (2017) introduced fixed-ratio two-timescale updates for GANs; the SGN paper (Sharma
    2025, arXiv 2512.06791) reads its band of metric weights as a TTUR-like statement. Fixed-ratio TTUR is
    Euler on D F, D = diag(h_i); in P = D^{-1} M (M the SGN metric) <D dF, P d> = <dF, M d> >= alpha_*
    h_min ||d||_P^2 and ||D dF||_P <= beta_P ||d||_P, so the iterates contract by sqrt(1 - 2 alpha_* h_min +
    beta_P^2) per step in ||.||_P (spec 8.3) for 0 < h < 2 alpha_* min(r, 1) / b^2 (beta_P = h b).
    """
    cert = certificate_of(instance, "margin")
    rel = ttur_steps(cert, params["timescale_ratio"])
    b, safe = ttur_constants(instance, cert, rel)
    h = params["h"] if params["h"] > 0 else (params["step_fraction"] * safe if cert.certified
                                               else _fallback_step(cert, params["step_fraction"]) / max(rel.max(), 1))
    w_M = cert.metric()
    w_P = w_M / rel
    columns, status, stop, x, stats = simulate(instance, kernels.EULER, h * rel, h, w_M, w_P, budget)
    if not cert.certified:
        condition = _no_certificate(cert)
    elif not 0 < h < safe:
        condition = f"h = {h:.4g} is outside the certified TTUR range (0, {safe:.4g})"
    else:
        condition = _region_condition(instance, cert, w_P)
    factor = (math.sqrt(max(1 - 2 * cert.alpha_star * h * float(np.min(rel)) + (h * b) ** 2, 0.0))
              if not condition else math.nan)
    theory = {"dist_P": Theory("exp", _rate(factor) if not condition else math.nan, not condition, condition)}
    events = _events(cert, h, stats, factor, safe, timescale_ratio=params["timescale_ratio"])
    return Result(columns=columns, events=events, status=status, stop_iteration=stop, theory=theory,
                  final={"x": x})
