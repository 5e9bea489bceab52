"""Data layout and oracles of the online family: SEA environments E1 (noisy drifting quadratic) and E3.

Round t (1-based) of E1: F_t(x) = 1/2 (x - c_t)^T Q (x - c_t), Q = diag(q); the loss is
f_t(x) = F_t(x) + <xi_t, x>, xi_t = s_t z_t, z_t uniform on the unit sphere, so
grad f_t(x) = Q (x - c_t) + s_t z_t, sigma_t^2 = s_t^2 exactly and Sigma_t^2 = ||Q (c_t - c_{t-1})||^2 (t >= 2).

The schedule (c_t, s_t) is fixed in advance by the instance (so E PR_T = max_u E R_T(u)); it is one of

* ``iid`` (0):         c_t = c, s_t = s0;
* ``switching`` (1):   c_t = (-1)^{K(t)} c with K(t) = floor(t^kappa) switches up to round t, s_t = s0;
* ``random_sign`` (2): c_t = eps_t c, eps_t = +-1 from a counter-based hash of (instance key, t), s_t = s0;
* ``decaying`` (3):    c_t = c, s_t = s0 t^-a.

Optional E3 term (``nonconvex`` = kappa_nc > 0, then s0 = 0): f_t(x) = F_t(x) + xi_t kappa_nc sin(<v, x>) with
xi_t = +-1 equiprobable; E f_t = F_t stays convex while individual f_t are nonconvex where
kappa_nc ||v||^2 sin(<v, x>) exceeds the curvature along v; sigma_t^2 = kappa_nc^2 ||v||^2 (the sup of cos^2 is 1).

Layout of ``data``: [d, R, regime, s0, a, kappa, key, kappa_nc, q (d), c (d), v (d)].

Oracle signature shared by the family (one compiled kernel serves every schedule):
``schedule(t, data, c_out) -> float64``: writes c_t into c_out and returns s_t.
"""
from __future__ import annotations

import numpy as np
from numba import float64, int64, njit, types, uint64

_vec = float64[::1]
SCHEDULE_SIG = float64(int64, _vec, _vec)
ScheduleType = types.FunctionType(SCHEDULE_SIG)

HEADER = 8
REGIMES = {"iid": 0, "switching": 1, "random_sign": 2, "decaying": 3}


def pack(q: np.ndarray, c: np.ndarray, R: float, regime: str, s0: float, a: float, kappa: float,
         key: int, kappa_nc: float = 0.0, v: np.ndarray | None = None) -> np.ndarray:
    """Return the flat data array of an E1 (kappa_nc = 0) or E3 (kappa_nc > 0, direction v) instance."""
    d = q.shape[0]
    header = np.array([d, R, REGIMES[regime], s0, a, kappa, float(key), kappa_nc])
    return np.concatenate([header, q, c, np.zeros(d) if v is None else v])


@njit(uint64(uint64), cache=True)
def splitmix64(z):
    """Return the SplitMix64 hash of z (a counter-based generator: no state, same value for the same z)."""
    z = z + uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


@njit(float64(int64, float64), cache=True)
def random_sign(t, key):
    """Return +1 or -1, fixed for (key, t): the random-sign drift schedule."""
    h = splitmix64(uint64(int64(key)) * uint64(1000003) + uint64(t))
    return 1.0 if (h >> uint64(63)) == uint64(0) else -1.0


@njit(SCHEDULE_SIG, cache=True)
def schedule(t, data, c_out):
    d = int(data[0])
    regime = int(data[2])
    s0 = data[3]
    c = data[HEADER + d:HEADER + 2 * d]
    sign = 1.0
    s = s0
    if regime == 1:
        switches = int(np.floor(float(t) ** data[5] + 1e-9))
        sign = -1.0 if switches % 2 == 1 else 1.0
    elif regime == 2:
        sign = random_sign(t, data[6])
    elif regime == 3:
        s = s0 * float(t) ** (-data[4])
    for i in range(d):
        c_out[i] = sign * c[i]
    return s


ORACLES = {"schedule": schedule}
