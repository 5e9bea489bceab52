"""The games family's data layout and oracles.

Every game of the family has a pseudo-gradient of the form

    F(x) = H x + c + kappa * tanh(x)        (tanh elementwise; kappa = 0 for quadratic games)

on X = [lo, hi] (a box, possibly unbounded: lo = -inf, hi = +inf), with players owning consecutive blocks
of x. Quadratic games (f_i = 1/2 x_i^T Q_i x_i + sum_j x_i^T A_ij x_j + c_i^T x_i) give F = H x + c with
H_ii = Q_i and H_ij = A_ij; the tanh term makes a non-quadratic game whose Jacobian varies with x (so its
certificate constants must be estimated on a region).

``data = [N, dim, kappa, offsets (N + 1), H (dim * dim, column-major), c (dim), lo (dim), hi (dim)]``

H is stored column by column so that F = H x is computed as a sum of columns (out += x_j H[:, j]): the
inner loop is then an axpy over contiguous memory, which LLVM vectorizes without fastmath (a row-wise
dot product is a floating-point reduction it may not reorder). Measured: 2-3x faster at dim 128.

Oracle signatures (shared by every game, so one compiled kernel serves all of them):

* ``pseudo_grad(x, data, out)``: out = F(x)                    -- ``void(f8[::1], f8[::1], f8[::1])``
* ``project(x, data, out)``:     out = clip(x, lo, hi)         -- same signature (blockwise projection)
* ``jacobian(x, data, out)``:    out = dF(x) (dim x dim)        -- ``void(f8[::1], f8[::1], f8[:, ::1])``

The Jacobian is used by the (offline, Python-side) certification; the dynamics kernels need only the
first two.
"""
import numpy as np
from numba import float64, njit, types, void

_vec = float64[::1]
_mat = float64[:, ::1]
ORACLE_SIG = void(_vec, _vec, _vec)
JACOBIAN_SIG = void(_vec, _vec, _mat)

OracleType = types.FunctionType(ORACLE_SIG)
JacobianType = types.FunctionType(JACOBIAN_SIG)

_HEADER = 3  # N, dim, kappa


def pack(H: np.ndarray, c: np.ndarray, blocks, lo: np.ndarray, hi: np.ndarray, kappa: float = 0.0) -> np.ndarray:
    """Return the flat data array of the family layout; ``blocks`` lists the players' dimensions."""
    dim = H.shape[0]
    offsets = np.concatenate([[0], np.cumsum(blocks)]).astype(np.float64)
    if offsets[-1] != dim:
        raise ValueError(f"block sizes {list(blocks)} do not add up to dim = {dim}")
    return np.concatenate([[len(blocks), dim, kappa], offsets, np.asarray(H, dtype=np.float64).T.ravel(),
                           np.asarray(c, float), np.asarray(lo, float), np.asarray(hi, float)])


def unpack(data: np.ndarray) -> dict:
    """Return the named views of a data array (Python side: certification, tests, NumPy baselines)."""
    n = int(data[0])
    dim = int(data[1])
    offsets = data[_HEADER:_HEADER + n + 1].astype(np.int64)
    start = _HEADER + n + 1
    H = data[start:start + dim * dim].reshape(dim, dim).T  # stored column-major
    start += dim * dim
    c = data[start:start + dim]
    lo = data[start + dim:start + 2 * dim]
    hi = data[start + 2 * dim:start + 3 * dim]
    return {"N": n, "dim": dim, "kappa": float(data[2]), "offsets": offsets, "H": H, "c": c, "lo": lo, "hi": hi}


@njit(ORACLE_SIG, cache=True)
def pseudo_grad(x, data, out):
    n = int(data[0])
    dim = int(data[1])
    kappa = data[2]
    start = _HEADER + n + 1
    Ht = data[start:start + dim * dim].reshape((dim, dim))  # Ht[j] = column j of H
    c = data[start + dim * dim:start + dim * dim + dim]
    for i in range(dim):
        out[i] = c[i]
    for j in range(dim):
        xj = x[j]
        col = Ht[j]
        for i in range(dim):
            out[i] += col[i] * xj
    if kappa != 0.0:
        for i in range(dim):
            out[i] += kappa * np.tanh(x[i])


@njit(ORACLE_SIG, cache=True)
def project(x, data, out):
    n = int(data[0])
    dim = int(data[1])
    start = _HEADER + n + 1 + dim * dim + dim
    lo = data[start:start + dim]
    hi = data[start + dim:start + 2 * dim]
    for i in range(dim):
        v = x[i]
        if v < lo[i]:
            v = lo[i]
        elif v > hi[i]:
            v = hi[i]
        out[i] = v


@njit(JACOBIAN_SIG, cache=True)
def jacobian(x, data, out):
    n = int(data[0])
    dim = int(data[1])
    kappa = data[2]
    start = _HEADER + n + 1
    Ht = data[start:start + dim * dim].reshape((dim, dim))
    for i in range(dim):
        for j in range(dim):
            out[i, j] = Ht[j, i]
        if kappa != 0.0:
            t = np.tanh(x[i])
            out[i, i] += kappa * (1.0 - t * t)


ORACLES = {"pseudo_grad": pseudo_grad, "project": project, "jacobian": jacobian}
