"""Benchmarks: the CBO and consensus-hopping kernels against plain NumPy, and CBO against CBXpy.

The configuration is the issue's: Rastrigin (A = 10, minimizer at 0), d = 20, N = 1000 particles, 2000
steps, isotropic noise, fixed alpha (lam = 1, sigma = 0.3, alpha = 100, dt = 0.01), one run, particles
from U[-3, 3]^20 -- the same initial ensemble for every implementation. Each side evaluates the N energies
K + 1 times (the last evaluation gives the final consensus).

CBXpy (PyPI ``cbx``, installed only for benchmarking; never a dependency) is configured to match the
paper's CBO (family spec 9.6): ``CBO(Rastrigin(), x=X0, noise="isotropic", lamda=1, sigma=0.3, dt=0.01,
alpha=100, max_it=2000)`` and ``optimize(sched=None)`` so that alpha stays fixed (its default schedule
multiplies alpha by 1.05 per step). Differences that remain, stated rather than hidden: CBXpy evaluates N
more energies at construction (a shape check), clips x to +-1e8 every step and tracks the best particle;
its random stream differs from ours, so paths differ while the law is the same. When ``cbx`` is absent its
case is skipped with a printed reason.

Run ``python -m optsandbox.consensus.bench`` for a one-shot comparison (one timing of each side, in this
process); ``optsandbox bench`` times :func:`cases` with the shared harness.
"""
from __future__ import annotations

import time

import numpy as np

from ..api import BenchCase, Budget

D, N, STEPS = 20, 1000, 2000
LAM, SIGMA, ALPHA, DT = 1.0, 0.3, 100.0, 0.01
CH_D, CH_N, CH_STEPS, CH_RUNS = 10, 1000, 200, 10


def _instance(name: str, d: int):
    from . import problems
    from .params import PROBLEM_PARAMS

    params = {p.name: p.default for p in PROBLEM_PARAMS[name]}
    params.update(dim=d, init="uniform", init_low=-3.0, init_high=3.0)
    return getattr(problems, f"build_{name}")(params, np.random.default_rng(0))


def initial_ensemble(d: int = D, n: int = N, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-3.0, 3.0, size=(n, d))


def numpy_cbo(X0: np.ndarray, steps: int, rng: np.random.Generator, A: float = 10.0,
              sigma: float = SIGMA) -> np.ndarray:
    """Return the final consensus of isotropic CBO on Rastrigin, written the way a NumPy user would."""
    X = X0.copy()
    two_pi = 2.0 * np.pi
    d = X.shape[1]
    for k in range(steps + 1):
        energy = A * d + np.sum(X * X - A * np.cos(two_pi * X), axis=1)
        w = np.exp(-ALPHA * (energy - energy.min()))
        consensus = w @ X / w.sum()
        if k == steps:
            return consensus
        diff = X - consensus
        noise = rng.standard_normal(X.shape)
        X += -LAM * DT * diff + sigma * np.sqrt(DT) * np.linalg.norm(diff, axis=1, keepdims=True) * noise
    return X


def numpy_hopping(x0: np.ndarray, n: int, steps: int, sigma: float, alpha: float, rng: np.random.Generator,
                  A: float = 10.0) -> np.ndarray:
    """Return the final points of consensus hopping on Rastrigin for M runs x0 (M, d), in NumPy."""
    x = x0.copy()
    M, d = x.shape
    for _ in range(steps):
        Y = x[:, None, :] + sigma * rng.standard_normal((M, n, d))
        energy = A * d + np.sum(Y * Y - A * np.cos(2.0 * np.pi * Y), axis=2)
        w = np.exp(-alpha * (energy - energy.min(axis=1, keepdims=True)))
        x = np.einsum("mn,mnd->md", w, Y) / w.sum(axis=1, keepdims=True)
    return x


def _kernel_cbo(instance, X0: np.ndarray, steps: int):
    from . import kernels
    from .kernels import CBO_COLUMNS

    def run():
        X = X0[None].copy()
        records = np.empty((8, len(CBO_COLUMNS)))
        consensus = np.zeros((1, X0.shape[1]))
        best = np.zeros((1, X0.shape[1]))
        best_energy = np.zeros(1)
        info = np.zeros(3, dtype=np.int64)
        kernels.cbo_kernel(instance.oracles["energy"], instance.data, X, instance.reference["x_star"],
                           kernels.ISOTROPIC, kernels.PRE_DRIFT, LAM, SIGMA, DT, ALPHA, 1.0, ALPHA, steps,
                           steps, 7, records, consensus, best, best_energy, info)
        return consensus[0]

    return run


def cbxpy_case(X0: np.ndarray, steps: int):
    """Return a zero-argument callable running CBXpy's CBO on the same configuration, or None without cbx."""
    try:
        from cbx.dynamics import CBO
        from cbx.objectives import Rastrigin
    except ImportError as exc:
        print(f"consensus bench: CBXpy comparison skipped ({exc}); `pip install cbx` to run it")
        return None

    def run():
        dyn = CBO(Rastrigin(), x=X0[None].copy(), noise="isotropic", lamda=LAM, sigma=SIGMA, dt=DT,
                  alpha=ALPHA, max_it=steps, verbosity=0, seed=7)
        dyn.optimize(sched=None)  # fixed alpha, as the theorem and our kernel
        return dyn.consensus

    return run


def cases() -> list[BenchCase]:
    """Return the family's benchmark cases (CBO vs NumPy, CBO vs CBXpy, consensus hopping vs NumPy)."""
    from .algorithms import threads_for

    rastrigin = _instance("rastrigin", D)
    X0 = initial_ensemble()
    work = f"CBO isotropic, Rastrigin d={D}, N={N}, {STEPS} steps, fixed alpha"
    kernel = _kernel_cbo(rastrigin, X0, STEPS)

    def numba_one_thread():
        with threads_for(0):
            return kernel()

    out = [BenchCase("cbo", numba_one_thread,
                     lambda: numpy_cbo(X0, STEPS, np.random.default_rng(7)), work + " (numba on 1 thread)")]
    out.append(BenchCase("cbo_all_threads", kernel,
                         lambda: numpy_cbo(X0, STEPS, np.random.default_rng(7)),
                         work + " (numba on all threads: faster on an idle machine, much slower when the "
                                "cores are shared, each prange ending in a barrier)"))
    cbx_run = cbxpy_case(X0, STEPS)
    if cbx_run is not None:
        out.append(BenchCase("cbo_vs_cbxpy", numba_one_thread, cbx_run,
                             work + "; the NumPy column is CBXpy 'cbx' (optimize(sched=None))"))
    ch = _instance("rastrigin", CH_D)
    x0 = initial_ensemble(CH_D, CH_RUNS, seed=2)

    def ch_numba():
        from .algorithms import run_consensus_hopping

        params = dict(particles=CH_N, sigma=0.5, alpha=10.0, sigma_factor=1.0, sigma_every=0, runs=CH_RUNS,
                      success_radius=0.25)
        with threads_for(0):
            return run_consensus_hopping(ch, params, Budget(CH_STEPS, CH_STEPS), np.random.default_rng(3))

    out.append(BenchCase("consensus_hopping", ch_numba,
                         lambda: numpy_hopping(x0, CH_N, CH_STEPS, 0.5, 10.0, np.random.default_rng(3)),
                         f"CH, Rastrigin d={CH_D}, {CH_RUNS} runs x N={CH_N}, {CH_STEPS} steps"))
    return out


def main(steps: int = STEPS) -> None:
    """Time each side once in this process (after a warm-up of the kernel) and print the ratios."""
    rastrigin = _instance("rastrigin", D)
    X0 = initial_ensemble()
    from .algorithms import threads_for

    kernel = _kernel_cbo(rastrigin, X0, steps)
    kernel_short = _kernel_cbo(rastrigin, X0, 2)
    kernel_short()
    timings = {}
    with threads_for(0):
        start = time.perf_counter()
        kernel()
        timings["numba (1 thread)"] = time.perf_counter() - start
    start = time.perf_counter()
    kernel()
    timings["numba (all threads)"] = time.perf_counter() - start
    start = time.perf_counter()
    numpy_cbo(X0, steps, np.random.default_rng(7))
    timings["plain NumPy"] = time.perf_counter() - start
    cbx_run = cbxpy_case(X0, steps)
    if cbx_run is not None:
        start = time.perf_counter()
        cbx_run()
        timings["CBXpy"] = time.perf_counter() - start
    base = timings["numba (1 thread)"]
    print(f"CBO isotropic, Rastrigin d={D}, N={N}, {steps} steps, fixed alpha = {ALPHA:g}")
    for name, t in timings.items():
        print(f"  {name:22s} {t:8.3f} s   {t / base:6.1f}x the 1-thread kernel's time")


if __name__ == "__main__":
    main()
