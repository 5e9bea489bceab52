"""Data layout and oracles of the monotone family: finite sums F = (1/n) sum_i F_i and a resolvent of G.

Layout of ``data`` (float64)::

    data[0] kind         0: affine components F_i(u) = M_i u - m_i;  1: matrix game, coordinate split
    data[1] n            number of components
    data[2] d            dimension of u
    data[3] constraint   0: G = 0;  1: G = normal cone of the box [lo, hi]^d;  2: of Delta_{d/2} x Delta_{d/2}
    data[4] lo           box lower end (constraint 1)
    data[5] hi           box upper end (constraint 1)
    data[6:8]            unused (0)
    kind 0:  Mbar (d*d, row-major), mbar (d), M_1..M_n (n*d*d), m_1..m_n (n*d)
    kind 1:  A (m*m, row-major), m = d/2 = n;  F(x, y) = (A^T y, -A x),
             F_i(x, y) = n (y_i A[i, :], -x_i A[:, i])  (so that (1/n) sum_i F_i = F; the F_i are not monotone)

Oracle signatures, shared by every problem of the family so that one cached kernel serves them all:

* ``comp_op(i, u, data, out)``      -> F_i(u) into out                       (1 component call)
* ``full_op(u, data, out)``         -> F(u) into out                         (counted as n calls; computed
  from the stored mean Mbar, which equals (1/n) sum_i M_i up to rounding)
* ``resolvent(w, eta, data, out)``  -> J_{eta G}(w) = projection onto the constraint set (any eta)
* ``residual(u, data, work)``       -> ||F(u)|| if G = 0, else the natural residual ||u - Pi(u - F(u))||
  (a measurement, never counted; ``work`` has length >= 2d)
"""
import numpy as np
from numba import float64, int64, njit, types, void

from ..kernels.projections import project_box

_vec = float64[::1]
COMP_SIG = void(int64, _vec, _vec, _vec)
FULL_SIG = void(_vec, _vec, _vec)
RESOLVENT_SIG = void(_vec, float64, _vec, _vec)
RESIDUAL_SIG = float64(_vec, _vec, _vec)

CompType = types.FunctionType(COMP_SIG)
FullType = types.FunctionType(FULL_SIG)
ResolventType = types.FunctionType(RESOLVENT_SIG)
ResidualType = types.FunctionType(RESIDUAL_SIG)

HEADER = 8
AFFINE = 0
GAME = 1
UNCONSTRAINED = 0
BOX = 1
SIMPLICES = 2


def pack_affine(Ms: np.ndarray, ms: np.ndarray, constraint: int = UNCONSTRAINED, lo: float = 0.0,
                hi: float = 0.0) -> np.ndarray:
    """Return the flat data array for affine components F_i(u) = Ms[i] u - ms[i]."""
    n, d, _ = Ms.shape
    header = np.array([AFFINE, n, d, constraint, lo, hi, 0.0, 0.0])
    return np.concatenate([header, Ms.mean(axis=0).ravel(), ms.mean(axis=0), Ms.ravel(), ms.ravel()])


def pack_game(A: np.ndarray) -> np.ndarray:
    """Return the flat data array of the matrix game min_{x in simplex} max_{y in simplex} y^T A x."""
    m = A.shape[0]
    header = np.array([GAME, m, 2 * m, SIMPLICES, 0.0, 0.0, 0.0, 0.0])
    return np.concatenate([header, np.ascontiguousarray(A, dtype=np.float64).ravel()])


@njit(COMP_SIG, cache=True)
def comp_op(i, u, data, out):
    kind = int(data[0])
    n = int(data[1])
    d = int(data[2])
    if kind == AFFINE:
        start = HEADER + d * d + d
        M = data[start + i * d * d:start + (i + 1) * d * d].reshape((d, d))
        mstart = start + n * d * d + i * d
        for a in range(d):
            s = -data[mstart + a]
            for b in range(d):
                s += M[a, b] * u[b]
            out[a] = s
    else:
        m = d // 2
        A = data[HEADER:HEADER + m * m].reshape((m, m))
        yi = n * u[m + i]
        xi = n * u[i]
        for j in range(m):
            out[j] = yi * A[i, j]
            out[m + j] = -xi * A[j, i]


@njit(FULL_SIG, cache=True)
def full_op(u, data, out):
    kind = int(data[0])
    d = int(data[2])
    if kind == AFFINE:
        M = data[HEADER:HEADER + d * d].reshape((d, d))
        mbar = data[HEADER + d * d:HEADER + d * d + d]
        for a in range(d):
            s = -mbar[a]
            for b in range(d):
                s += M[a, b] * u[b]
            out[a] = s
    else:
        m = d // 2
        A = data[HEADER:HEADER + m * m].reshape((m, m))
        for j in range(m):
            out[j] = 0.0
        for i in range(m):
            yi = u[m + i]
            s = 0.0
            for j in range(m):
                out[j] += yi * A[i, j]
                s += A[i, j] * u[j]
            out[m + i] = -s


@njit(void(_vec, int64), cache=True)
def _project_two_simplices(x, m):
    # The resolvent signature has no scratch vector, so instead of the sort-based rule (which needs a
    # sorted copy) the threshold tau of sum_i max(x_i - tau, 0) = 1 is bracketed by bisection in
    # [max x - 1, max x] (64 halvings: below rounding), then recomputed exactly from the active set.
    for block in range(2):
        off = block * m
        hi = -np.inf
        for i in range(m):
            if x[off + i] > hi:
                hi = x[off + i]
        lo = hi - 1.0
        hi_t = hi
        for _ in range(64):
            mid = 0.5 * (lo + hi_t)
            s = 0.0
            for i in range(m):
                v = x[off + i] - mid
                if v > 0.0:
                    s += v
            if s > 1.0:
                lo = mid
            else:
                hi_t = mid
        tau = 0.5 * (lo + hi_t)
        total = 0.0
        count = 0
        for i in range(m):
            if x[off + i] > tau:
                total += x[off + i]
                count += 1
        if count > 0:
            tau = (total - 1.0) / count
        for i in range(m):
            v = x[off + i] - tau
            x[off + i] = v if v > 0.0 else 0.0


@njit(RESOLVENT_SIG, cache=True)
def resolvent(w, eta, data, out):
    constraint = int(data[3])
    d = int(data[2])
    for a in range(d):
        out[a] = w[a]
    if constraint == BOX:
        project_box(out, data[4], data[5])
    elif constraint == SIMPLICES:
        _project_two_simplices(out, d // 2)


@njit(RESIDUAL_SIG, cache=True)
def residual(u, data, work):
    d = int(data[2])
    constraint = int(data[3])
    f = work[:d]
    full_op(u, data, f)
    if constraint == UNCONSTRAINED:
        s = 0.0
        for a in range(d):
            s += f[a] * f[a]
        return np.sqrt(s)
    step = work[d:2 * d]
    for a in range(d):
        step[a] = u[a] - f[a]
    resolvent(step, 1.0, data, f)
    s = 0.0
    for a in range(d):
        r = u[a] - f[a]
        s += r * r
    return np.sqrt(s)


ORACLES = {"comp_op": comp_op, "full_op": full_op, "resolvent": resolvent, "residual": residual}
