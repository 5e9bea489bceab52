"""Euclidean projections onto simple sets, in place, with explicit signatures (float64, no allocation).

* :func:`project_simplex` -- onto {x >= 0, sum x = radius} by the sort-and-threshold rule (Held, Wolfe,
  Crowder 1974; Duchi et al. 2008): sort descending, find the largest k with u_k > (sum_{j<=k} u_j - r)/k,
  shift by that threshold tau and clip at 0. A point already on the simplex is returned unchanged up to
  rounding (k = number of positive entries, tau = 0), the case a well-known public script gets wrong.
* :func:`project_box` -- onto [lo, hi]^d by clipping.
* :func:`project_ball` -- onto {||x|| <= radius}: x * min(1, radius / ||x||).

The simplex projection needs one scratch vector of the same length for the sorted copy; callers allocate
it once, outside their loop.
"""
import numpy as np
from numba import float64, njit, void

_vec = float64[::1]


@njit(void(_vec, float64, _vec), cache=True)
def project_simplex(x, radius, scratch):
    """Overwrite x with its projection onto {y >= 0, sum y = radius}; ``scratch`` has x's length."""
    n = x.shape[0]
    for i in range(n):
        scratch[i] = x[i]
    scratch.sort()  # ascending; walk it from the end
    cumulative = 0.0
    tau = 0.0
    for k in range(1, n + 1):
        u = scratch[n - k]
        cumulative += u
        candidate = (cumulative - radius) / k
        if u > candidate:
            tau = candidate
        else:
            break
    for i in range(n):
        v = x[i] - tau
        x[i] = v if v > 0.0 else 0.0


@njit(void(_vec, float64, float64), cache=True)
def project_box(x, lo, hi):
    """Overwrite x with its projection onto the box [lo, hi]^d."""
    for i in range(x.shape[0]):
        if x[i] < lo:
            x[i] = lo
        elif x[i] > hi:
            x[i] = hi


@njit(void(_vec, float64), cache=True)
def project_ball(x, radius):
    """Overwrite x with its projection onto the centred Euclidean ball of the given radius."""
    s = 0.0
    for v in x:
        s += v * v
    norm = np.sqrt(s)
    if norm > radius:
        scale = radius / norm
        for i in range(x.shape[0]):
            x[i] *= scale
