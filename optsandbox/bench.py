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


def best_time(fn, repeat: int) -> tuple[float, float]:
    """Return the best wall time and the best CPU time of ``repeat`` calls (seconds).

    CPU time (this process, all its threads) is reported beside wall time because a shared machine's load
    inflates wall time; a BLAS-threaded NumPy call may use more CPU than wall time.
    """
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best_wall, best_cpu


def measure(case, repeat: int = 5) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return ((wall, cpu) numba, (wall, cpu) numpy) of one case, after one untimed warm-up call each."""
    case.run_numba()
    case.run_numpy()
    return best_time(case.run_numba, repeat), best_time(case.run_numpy, repeat)


def run_benchmarks(families, repeat: int = 5, progress=None) -> Table:
    table = Table(title="numba kernels vs plain NumPy (best of %d)" % repeat, title_justify="left")
    for col, justify in (("family", "left"), ("case", "left"), ("work", "left"), ("numba ms", "right"),
                         ("numpy ms", "right"), ("ratio", "right"), ("CPU ratio", "right")):
        table.add_column(col, justify=justify)
    for family in families:
        entry = registry.catalog(family).benchmarks
        if not entry:
            continue
        for case in registry.load_entry(entry)():
            if progress is not None:
                progress.print(f"timing {family}/{case.name} ...", highlight=False)
            (t_numba, c_numba), (t_numpy, c_numpy) = measure(case, repeat)
            ratio = t_numpy / t_numba if t_numba > 0 else float("inf")
            cpu_ratio = c_numpy / c_numba if c_numba > 0 else float("inf")
            table.add_row(family, case.name, case.work, f"{1e3 * t_numba:.3f}", f"{1e3 * t_numpy:.3f}",
                          f"{ratio:.1f}x", f"{cpu_ratio:.1f}x")
    return table
