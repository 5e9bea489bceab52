"""Record schedules and stop conditions shared by every kernel.

A kernel records rows at t = 0, 1, 2 (early transients matter in several papers), at every multiple of
``record_every``, and at the iteration where it stops. The record array is preallocated by the Python
wrapper with :func:`capacity` rows, so kernels never allocate per iteration and memory is
O(iterations / record_every), never O(iterations x dimension).
"""
import numpy as np
from numba import boolean, float64, int64, njit

# Status codes, mirrored from optsandbox.api (numba reads module globals as compile-time constants).
STATUS_BUDGET = 0
STATUS_CONVERGED = 1
STATUS_NON_FINITE = 2
STATUS_DIVERGED = 3

DIVERGENCE_THRESHOLD = 1e100  # an iterate this large is reported as diverged


def capacity(iterations: int, record_every: int) -> int:
    """Return the number of record rows a run of ``iterations`` can produce (upper bound)."""
    return iterations // record_every + 5


@njit(boolean(int64, int64), cache=True)
def due(t, record_every):
    """Return True when iteration t is a record point."""
    return t < 3 or t % record_every == 0


@njit(boolean(float64[::1]), cache=True)
def all_finite(x):
    """Return True when no entry is NaN or inf."""
    for v in x:
        if not np.isfinite(v):
            return False
    return True


@njit(int64(float64[::1]), cache=True)
def health(x):
    """Return STATUS_NON_FINITE for NaN/inf, STATUS_DIVERGED past the threshold, STATUS_BUDGET if fine."""
    for v in x:
        if not np.isfinite(v):
            return STATUS_NON_FINITE
        if abs(v) > DIVERGENCE_THRESHOLD:
            return STATUS_DIVERGED
    return STATUS_BUDGET
