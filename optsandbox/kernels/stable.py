"""Numerically stable scalar and vector primitives (float64, no fastmath).

``exp`` overflows above 709.78 and underflows to 0 below -745.1; every formula here branches so that no
intermediate overflows, whatever the argument.
"""
import numpy as np
from numba import float64, njit, void

_f8 = float64
_vec = float64[::1]


@njit(_f8(_f8), cache=True)
def softplus(x):
    """Return log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@njit(_f8(_f8), cache=True)
def sigmoid(x):
    """Return 1 / (1 + exp(-x)), branching on the sign so that exp never overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@njit(_f8(_f8), cache=True)
def log_sigmoid(x):
    """Return log(1 / (1 + exp(-x))) = -softplus(-x), finite for every finite x."""
    return -softplus(-x)


@njit(_f8(_vec), cache=True)
def logsumexp(values):
    """Return log(sum(exp(values))) by subtracting the maximum first."""
    m = -np.inf
    for v in values:
        if v > m:
            m = v
    if not np.isfinite(m):
        return m
    s = 0.0
    for v in values:
        s += np.exp(v - m)
    return m + np.log(s)


@njit(_f8(_vec), cache=True)
def norm2(x):
    """Return the Euclidean norm, scaled to avoid overflow of the squares."""
    scale = 0.0
    for v in x:
        if abs(v) > scale:
            scale = abs(v)
    if scale == 0.0 or not np.isfinite(scale):
        return scale
    s = 0.0
    for v in x:
        s += (v / scale) ** 2
    return scale * np.sqrt(s)


@njit(void(_vec, _vec), cache=True)
def softmax_from_logs(logs, out):
    """Write exp(logs - logsumexp(logs)) into ``out``: exact normalized weights, no 0/0."""
    m = -np.inf
    for v in logs:
        if v > m:
            m = v
    s = 0.0
    for i in range(logs.shape[0]):
        out[i] = np.exp(logs[i] - m)
        s += out[i]
    for i in range(logs.shape[0]):
        out[i] /= s
