"""Benchmark objectives with known global minimizers, and the initial law rho_0 of the particles.

Each builder returns an :class:`~optsandbox.api.Instance` (data layout in :mod:`.oracles`) whose reference
holds the global minimizer ``x_star``, the minimum ``f_star``, the initial law's parameters (``init_*``) and
``V0`` = (1/2) E||X_0 - x*||^2 under rho_0, all in closed form -- never from an algorithm under test:

* Rastrigin, A > 0: f(x) - f* = sum_i [z_i^2 + A (1 - cos 2 pi z_i)] with z = x - b; both terms of each
  summand are >= 0 and vanish only at z_i = 0, so x* = b is the unique minimizer and f* = c.
* Riedl's Rastrigin: the same argument with A = 2.5, c = 0.
* Ackley (a, s > 0): -a exp(-s r) >= -a with equality iff r = ||z|| / sqrt(d) = 0, and
  -exp(mean cos 2 pi z_i) >= -e with equality iff every z_i is an integer; both at z = 0, so x* = b, f* = 0.
* Quadratic (1/2) sum a_i z_i^2, a_i > 0: x* = b, f* = 0.

The shift b (``shift`` > 0) is drawn once per seed from U[-shift, shift]^d with the problem's generator, so
the minimizer is not at the origin and differs across seeds; shift = 0 puts it at the origin.

rho_0 (``init``): "gaussian" N(m_0, init_std^2 I) with m_0 = init_mean * v, v = (1, .., 1, 0, .., 0)/sqrt(h)
with its first h = ceil(d/2) entries equal (``init_direction = "half"``, the FKR decay experiment: m_0 has
norm init_mean) or v = (1, .., 1) (``"ones"``, the phase-transition script: every entry init_mean); or
"uniform" U[init_low, init_high]^d (CBXpy's demo). Algorithms draw their particles (or starting points) from
rho_0 with their own generator; every algorithm of a scenario uses the same rho_0.
"""
from __future__ import annotations

import math

import numpy as np

from ..api import Instance
from . import oracles

def init_mean_vector(params: dict) -> np.ndarray:
    d = params["dim"]
    if params["init_direction"] == "ones":
        return np.full(d, float(params["init_mean"]))
    h = (d + 1) // 2
    v = np.zeros(d)
    v[:h] = 1.0 / math.sqrt(h)
    return float(params["init_mean"]) * v


def sample_init(reference: dict, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Return a C-contiguous float64 array of the given shape (..., d) drawn from the instance's rho_0."""
    if reference["init_kind"] == 0.0:
        x = rng.standard_normal(shape) * reference["init_std"] + reference["init_mean_vector"]
    else:
        x = rng.uniform(reference["init_low"], reference["init_high"], size=shape)
    return np.ascontiguousarray(x, dtype=np.float64)


def _instance(name: str, params: dict, rng: np.random.Generator, constants, f_star: float,
              extra: dict | None = None) -> Instance:
    d = params["dim"]
    if params["init"] == "uniform" and not params["init_low"] < params["init_high"]:
        raise ValueError(f"init_low = {params['init_low']} must be < init_high = {params['init_high']}")
    shift = params["shift"]
    b = rng.uniform(-shift, shift, size=d) if shift > 0 else np.zeros(d)
    m0 = init_mean_vector(params)
    if params["init"] == "gaussian":
        v0 = 0.5 * (float(np.sum((m0 - b) ** 2)) + d * params["init_std"] ** 2)
        kind = 0.0
    else:
        lo, hi = params["init_low"], params["init_high"]
        v0 = 0.5 * float(np.sum(((lo + hi) / 2 - b) ** 2) + d * (hi - lo) ** 2 / 12.0)
        kind = 1.0
    reference = {"x_star": b, "f_star": float(f_star), "dim": float(d), "V0": v0, "init_kind": kind,
                 "init_mean_vector": m0, "init_std": float(params["init_std"]),
                 "init_low": float(params["init_low"]), "init_high": float(params["init_high"])}
    if extra:
        reference.update(extra)
    return Instance(data=oracles.pack(b, constants), oracles=dict(oracles.ORACLES[name]), reference=reference,
                    dim=d)


def build_rastrigin(params: dict, rng: np.random.Generator) -> Instance:
    """Rastrigin A d + sum [z_i^2 - A cos(2 pi z_i)] + c, z = x - b: x* = b, f* = c (A > 0)."""
    if params["A"] <= 0:
        raise ValueError(f"A = {params['A']}: must be > 0 for x* = b to be the unique minimizer")
    return _instance("rastrigin", params, rng, [params["A"], params["c"]], params["c"])


def build_rastrigin_riedl(params: dict, rng: np.random.Generator) -> Instance:
    """Riedl's Rastrigin ||z||^2 + 2.5 sum (1 - cos 2 pi z_i): x* = b, f* = 0; nearest local minima ~0.98."""
    return _instance("rastrigin_riedl", params, rng, [], 0.0)


def build_ackley(params: dict, rng: np.random.Generator) -> Instance:
    """Ackley -a exp(-s ||z|| / sqrt d) - exp(mean cos 2 pi z_i) + a + e: x* = b, f* = 0."""
    if params["a"] <= 0 or params["s"] <= 0:
        raise ValueError("ackley: a and s must be > 0")
    return _instance("ackley", params, rng, [params["a"], params["s"]], 0.0)


def build_quadratic(params: dict, rng: np.random.Generator) -> Instance:
    """(1/2) sum a_i z_i^2 with a_i log-spaced in [curvature_min, curvature_max]: x* = b, f* = 0."""
    lo, hi = params["curvature_min"], params["curvature_max"]
    if not 0 < lo <= hi:
        raise ValueError(f"quadratic: need 0 < curvature_min = {lo} <= curvature_max = {hi}")
    a = np.geomspace(lo, hi, params["dim"])
    return _instance("quadratic", params, rng, a, 0.0, {"curvatures": a})
