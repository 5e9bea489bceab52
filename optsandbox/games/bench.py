"""Benchmark cases: the games dynamics kernel against plain NumPy loops of the same updates.

Both sides start from the same x0, take the same steps, and record the same three distances (dist_M,
dist_P, dist_euclid) every ``record_every`` iterations, so they do identical work.
"""
from __future__ import annotations

import numpy as np

from ..api import BenchCase, Budget
from . import kernels, oracles
from .algorithms import certificate_of, simulate
from .problems import build_lq, build_toy2d


def numpy_dynamics(data: np.ndarray, x0, xstar, w, steps, scheme: str, iterations: int, record_every: int):
    """Return the recorded rows of projected Euler / RK4 written as a NumPy user would."""
    g = oracles.unpack(data)
    H, c, lo, hi, kappa = g["H"], g["c"], g["lo"], g["hi"], g["kappa"]

    def F(x):
        out = H @ x + c
        if kappa:
            out += kappa * np.tanh(x)
        return out

    x = np.clip(x0, lo, hi)
    rows = []
    for t in range(1, iterations + 1):
        if scheme == "euler":
            x = np.clip(x - steps * F(x), lo, hi)
        else:
            k1 = F(x)
            k2 = F(x - 0.5 * steps * k1)
            k3 = F(x - 0.5 * steps * k2)
            k4 = F(x - steps * k3)
            x = np.clip(x - steps * (k1 + 2 * k2 + 2 * k3 + k4) / 6, lo, hi)
        if t < 3 or t % record_every == 0:
            e = x - xstar
            rows.append((t, np.sqrt(w @ (e * e)), np.sqrt(w @ (e * e)), np.linalg.norm(e)))
    return x, rows


def cases() -> list[BenchCase]:
    out = []
    common = dict(offset=0.0, box=0.0, init_scale=1.0)
    games = [("toy2d (dim 2)", build_toy2d(dict(mu1=1.0, mu2=1.0, a=10.0, b=0.05, x0=[], **common),
                                             np.random.default_rng(0))),
             ("lq d=8 (dim 16)", build_lq(dict(d=8, lam=1.0, a=10.0, b=0.05, mix=0.0, **common),
                                           np.random.default_rng(0))),
             ("lq d=64 (dim 128)", build_lq(dict(d=64, lam=1.0, a=10.0, b=0.05, mix=0.0, **common),
                                             np.random.default_rng(0)))]
    iterations, record_every = 2000, 10
    budget = Budget(iterations, record_every)
    for label, inst in games:
        cert = certificate_of(inst)
        w = cert.metric()
        h = 0.5 * cert.euler_step_max
        steps = np.full(inst.dim, h)
        x0, xstar = inst.reference["x0"], inst.reference["x_star"]
        for scheme, code in (("euler", kernels.EULER), ("rk4", kernels.RK4)):
            out.append(BenchCase(
                f"sgn_{scheme} {label}",
                lambda inst=inst, code=code, steps=steps, w=w, h=h: simulate(inst, code, steps, h, w, w, budget),
                lambda inst=inst, scheme=scheme, steps=steps, w=w, x0=x0, xstar=xstar: numpy_dynamics(
                    inst.data, x0, xstar, w, steps, scheme, iterations, record_every),
                f"{iterations} {scheme} steps, three distances recorded every {record_every}"))
    out.append(_npg_case(iterations, record_every))
    return out


def _npg_case(iterations: int, record_every: int) -> BenchCase:
    """NPG on the Markov game: the kernel with the jitted natural-gradient oracle versus NumPy (einsum +
    numpy.linalg.solve per step, the way the field is written in ``markov.field_numpy``)."""
    from . import markov

    params = dict(gamma=0.9, tau=1.0, reward_scale=1.0, region=0.1, init_scale=0.01)
    inst = markov.build_markov(params, np.random.default_rng(0))
    cert = inst.reference["certificate_natural"]
    w = cert.metric()
    h = 0.5 * cert.euler_step_max
    steps = np.full(inst.dim, h)
    S, mu0, R1, R2, P = markov.coordination_game()
    x0, xstar = inst.reference["x0"], inst.reference["x_star"]

    def numpy_npg():
        x = x0.copy()
        rows = []
        for t in range(1, iterations + 1):
            x = x - steps * markov.field_numpy(x, S, 0.9, 1.0, mu0, R1, R2, P, natural=True)
            if t < 3 or t % record_every == 0:
                e = x - xstar
                rows.append((t, np.sqrt(w @ (e * e)), np.sqrt(w @ (e * e)), np.linalg.norm(e)))
        return x, rows

    budget = Budget(iterations, record_every)
    return BenchCase("npg markov (2 states, dim 4)",
                     lambda: simulate(inst, kernels.EULER, steps, h, w, w, budget, field="natural_grad"),
                     numpy_npg, f"{iterations} NPG steps (three 2x2 solves each), distances every {record_every}")
