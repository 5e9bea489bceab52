"""Benchmark harness: each family's kernels against plain NumPy versions of the same update.

A family lists its cases in ``Catalog.benchmarks`` ("module:function" returning a list of
:class:`~optsandbox.api.BenchCase`). Both callables of a case do identical work on the same problem, in
this process; the numba side is called once first so that compilation (or loading from the cache) is not
timed. The best of ``repeat`` timings is kept for each side, and the table shows the ratio
NumPy time / numba time (above 1: the kernel is faster).
"""
from __future__ import annotations

import time

from rich.table import Table

from . import registry


def best_time(fn, repeat: int) -> float:
    """Return the best wall time of ``repeat`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(case, repeat: int = 5) -> tuple[float, float]:
    """Return (numba seconds, numpy seconds) of one case, after one untimed warm-up call each."""
    case.run_numba()
    case.run_numpy()
    return best_time(case.run_numba, repeat), best_time(case.run_numpy, repeat)


def run_benchmarks(families, repeat: int = 5, progress=None) -> Table:
    table = Table(title="numba kernels vs plain NumPy (best of %d)" % repeat, title_justify="left")
    for col, justify in (("family", "left"), ("case", "left"), ("work", "left"), ("numba ms", "right"),
                         ("numpy ms", "right"), ("ratio", "right")):
        table.add_column(col, justify=justify)
    for family in families:
        entry = registry.catalog(family).benchmarks
        if not entry:
            continue
        for case in registry.load_entry(entry)():
            if progress is not None:
                progress.print(f"timing {family}/{case.name} ...", highlight=False)
            t_numba, t_numpy = measure(case, repeat)
            ratio = t_numpy / t_numba if t_numba > 0 else float("inf")
            table.add_row(family, case.name, case.work, f"{1e3 * t_numba:.3f}", f"{1e3 * t_numpy:.3f}",
                          f"{ratio:.1f}x")
    return table
