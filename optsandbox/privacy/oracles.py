"""The privacy family's data layout and per-sample oracles.

``data = [P, n, d, A (N*d, row-major), b (N)]`` with N = n P records, client p holding records
[p n, (p + 1) n). Every client has the same n, so the mean of the per-client means is the mean over all
N records (the replace-one sensitivity of the clipped mean is 2C/N).

Oracle signature, shared by the family: ``sample_grad(x, s, data, out)``:
``void(float64[::1], int64, float64[::1], float64[::1])`` writes grad l(x; z_s) into ``out``.

DP-1, robust nonconvex regression: l(x; a, b) = log(1 + (a^T x - b)^2/2) with ||a|| = 1, so
grad l = psi(u) a with u = a^T x - b and psi(u) = u/(1 + u^2/2): |psi| <= 1/sqrt 2 (G = 1/sqrt 2) and
|psi'| <= 1 (L = 1 per sample).
"""
import numpy as np
from numba import float64, int64, njit, types, void

_vec = float64[::1]
SAMPLE_GRAD_SIG = void(_vec, int64, _vec, _vec)
SampleGradType = types.FunctionType(SAMPLE_GRAD_SIG)


def pack(P: int, n: int, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([[P, n, A.shape[1]], np.ascontiguousarray(A, dtype=float).ravel(),
                           np.asarray(b, dtype=float)])


def unpack(data: np.ndarray):
    """Return (P, n, A, b) views of a packed array (for NumPy reference code)."""
    P, n, d = int(data[0]), int(data[1]), int(data[2])
    N = P * n
    return P, n, data[3:3 + N * d].reshape((N, d)), data[3 + N * d:3 + N * d + N]


@njit(SAMPLE_GRAD_SIG, cache=True)
def robust_sample_grad(x, s, data, out):
    P = int(data[0])
    n = int(data[1])
    d = int(data[2])
    start = 3 + s * d
    u = -data[3 + P * n * d + s]
    for j in range(d):
        u += data[start + j] * x[j]
    psi = u / (1.0 + 0.5 * u * u)
    for j in range(d):
        out[j] = psi * data[start + j]


ORACLES = {"sample_grad": robust_sample_grad}
