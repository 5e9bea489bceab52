"""The compression family's data layout and oracles.

``data = [kind, n_clients, d, ...]`` with a kind-specific tail:

* kind 0, quadratic: ``[0, n, d, H (d*d), c (n), B (n*d), x_star (d), c_bar]`` --
  f_i(x) = (c_i/2) x^T H x - b_i^T x, f = (1/n) sum_i f_i, x_star the minimiser (stored so that the gap
  f(x) - f* = (c_bar/2) (x - x*)^T H (x - x*) is computed without cancellation, down to 1e-30).
* kind 2, general quadratic: ``[2, n, d, H_1..H_n (n*d*d), B (n*d), x_star (d), H_bar (d*d)]`` --
  f_i(x) = 1/2 x^T H_i x - b_i^T x with a Hessian per client (the divergence counterexample);
* kind 1, logistic: ``[1, n, d, lam, f_ref, offsets (n+1), Z (m_total*d)]`` -- client i holds the
  label-folded rows z_j = beta_j a_j, j in [offsets_i, offsets_{i+1});
  f_i(x) = (1/m_i) sum_j log(1 + exp(-z_j^T x)) + lam sum_k x_k^2 / (1 + x_k^2); the gap is f(x) - f_ref
  (f_ref a stationary value found by scipy; the family's nonconvex bounds use grad_norm_sq, not the gap).

Oracle signatures, shared by every problem of the family (one compiled kernel serves them all):

* ``local_grads(x, data, out)``: ``void(float64[::1], float64[::1], float64[::1])``, writes the exact
  gradients of all clients, client i in ``out[i*d:(i+1)*d]`` (one gradient per client);
* ``gap(x, data) -> float64``: f(x) - f*, a measurement (not counted).
"""
import numpy as np
from numba import float64, njit, types, void

from ..kernels.stable import sigmoid, softplus

_vec = float64[::1]
GRADS_SIG = void(_vec, _vec, _vec)
GAP_SIG = float64(_vec, _vec)
GradsType = types.FunctionType(GRADS_SIG)
GapType = types.FunctionType(GAP_SIG)

QUADRATIC = 0
LOGISTIC = 1
GENERAL_QUADRATIC = 2


def pack_quadratic(H: np.ndarray, c: np.ndarray, B: np.ndarray, x_star: np.ndarray) -> np.ndarray:
    n, d = B.shape
    return np.concatenate([[QUADRATIC, n, d], np.ascontiguousarray(H, dtype=float).ravel(),
                           np.asarray(c, dtype=float), np.ascontiguousarray(B, dtype=float).ravel(),
                           np.asarray(x_star, dtype=float), [float(np.mean(c))]])


def pack_general_quadratic(Hs: np.ndarray, B: np.ndarray, x_star: np.ndarray) -> np.ndarray:
    n, d = B.shape
    return np.concatenate([[GENERAL_QUADRATIC, n, d], np.ascontiguousarray(Hs, dtype=float).ravel(),
                           np.ascontiguousarray(B, dtype=float).ravel(), np.asarray(x_star, dtype=float),
                           np.ascontiguousarray(Hs.mean(axis=0), dtype=float).ravel()])


def pack_logistic(Z: np.ndarray, offsets: np.ndarray, lam: float, f_ref: float) -> np.ndarray:
    n = len(offsets) - 1
    d = Z.shape[1]
    return np.concatenate([[LOGISTIC, n, d, lam, f_ref], np.asarray(offsets, dtype=float),
                           np.ascontiguousarray(Z, dtype=float).ravel()])


@njit(GRADS_SIG, cache=True)
def quadratic_grads(x, data, out):
    n = int(data[1])
    d = int(data[2])
    H = data[3:3 + d * d].reshape((d, d))
    c = data[3 + d * d:3 + d * d + n]
    B = data[3 + d * d + n:3 + d * d + n + n * d]
    # H x once (BLAS, written into out[:d], no allocation), then grad f_i = c_i H x - b_i; client 0 last
    # because its block is the scratch
    hx = out[:d]
    np.dot(H, x, hx)
    for i in range(n - 1, -1, -1):
        base = i * d
        for j in range(d):
            out[base + j] = c[i] * hx[j] - B[base + j]


@njit(GAP_SIG, cache=True)
def quadratic_gap(x, data):
    n = int(data[1])
    d = int(data[2])
    H = data[3:3 + d * d].reshape((d, d))
    start = 3 + d * d + n + n * d
    x_star = data[start:start + d]
    c_bar = data[start + d]
    # (x - x*)^T H (x - x*) over the upper triangle of the symmetric H: half the multiplications
    total = 0.0
    for j in range(d):
        dj = x[j] - x_star[j]
        s = 0.5 * H[j, j] * dj
        for l in range(j + 1, d):
            s += H[j, l] * (x[l] - x_star[l])
        total += dj * s
    return c_bar * total


@njit(GRADS_SIG, cache=True)
def general_quadratic_grads(x, data, out):
    n = int(data[1])
    d = int(data[2])
    for i in range(n):
        H = data[3 + i * d * d:3 + (i + 1) * d * d].reshape((d, d))
        base = 3 + n * d * d + i * d
        for j in range(d):
            s = 0.0
            for l in range(d):
                s += H[j, l] * x[l]
            out[i * d + j] = s - data[base + j]


@njit(GAP_SIG, cache=True)
def general_quadratic_gap(x, data):
    n = int(data[1])
    d = int(data[2])
    start = 3 + n * d * d + n * d
    x_star = data[start:start + d]
    H = data[start + d:start + d + d * d].reshape((d, d))
    total = 0.0
    for j in range(d):
        s = 0.0
        for l in range(d):
            s += H[j, l] * (x[l] - x_star[l])
        total += (x[j] - x_star[j]) * s
    return 0.5 * total


@njit(GRADS_SIG, cache=True)
def logistic_grads(x, data, out):
    n = int(data[1])
    d = int(data[2])
    lam = data[3]
    offsets = data[5:5 + n + 1]
    Z = data[5 + n + 1:]
    for i in range(n):
        lo = int(offsets[i])
        hi = int(offsets[i + 1])
        base = i * d
        for k in range(d):
            out[base + k] = 2.0 * lam * x[k] / (1.0 + x[k] * x[k]) ** 2
        w = 1.0 / (hi - lo)
        for j in range(lo, hi):
            z = 0.0
            for k in range(d):
                z += Z[j * d + k] * x[k]
            coef = -w * sigmoid(-z)
            for k in range(d):
                out[base + k] += coef * Z[j * d + k]


@njit(float64(_vec, _vec), cache=True)
def logistic_objective(x, data):
    """Return f(x) = (1/n) sum_i f_i(x) (mean of the clients' means, as the uneven split defines it)."""
    n = int(data[1])
    d = int(data[2])
    lam = data[3]
    offsets = data[5:5 + n + 1]
    Z = data[5 + n + 1:]
    total = 0.0
    for i in range(n):
        lo = int(offsets[i])
        hi = int(offsets[i + 1])
        s = 0.0
        for j in range(lo, hi):
            z = 0.0
            for k in range(d):
                z += Z[j * d + k] * x[k]
            s += softplus(-z)
        total += s / (hi - lo)
    reg = 0.0
    for k in range(d):
        reg += x[k] * x[k] / (1.0 + x[k] * x[k])
    return total / n + lam * reg


@njit(GAP_SIG, cache=True)
def logistic_gap(x, data):
    return logistic_objective(x, data) - data[4]


QUADRATIC_ORACLES = {"local_grads": quadratic_grads, "gap": quadratic_gap}
GENERAL_QUADRATIC_ORACLES = {"local_grads": general_quadratic_grads, "gap": general_quadratic_gap}
LOGISTIC_ORACLES = {"local_grads": logistic_grads, "gap": logistic_gap}
