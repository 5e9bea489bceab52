"""The family's data layout and oracles.

``data = [n_rows, d, B (n_rows * d, row-major), c (n_rows)]``: label-folded samples b_i = y_i a_i with
integer multiplicities c_i (effective sample size n = sum c_i).

Oracle signature, shared by every oracle of the family (so one compiled kernel serves every dataset):
``void(float64[::1] x, float64[::1] data, float64[::1] out)``:

* ``margins(theta, data, out)``: out_i = b_i^T theta for each stored row (n sample evaluations);
* ``combine(coef, data, out)``: out = sum_i coef_i b_i (the step direction; no multiplicity applied).

Per-sample oracles for the online perceptron:

* ``row_margin(j, theta, data) -> float64``: b_j^T theta;
* ``add_row(j, scale, data, theta)``: theta += scale * b_j.
"""
import numpy as np
from numba import float64, int64, njit, types, void

_vec = float64[::1]
ORACLE_SIG = void(_vec, _vec, _vec)
ROW_MARGIN_SIG = float64(int64, _vec, _vec)
ADD_ROW_SIG = void(int64, float64, _vec, _vec)

OracleType = types.FunctionType(ORACLE_SIG)
RowMarginType = types.FunctionType(ROW_MARGIN_SIG)
AddRowType = types.FunctionType(ADD_ROW_SIG)


def pack(B: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return the flat data array of the family layout."""
    n_rows, d = B.shape
    return np.concatenate([[n_rows, d], np.ascontiguousarray(B, dtype=np.float64).ravel(),
                           np.asarray(counts, dtype=np.float64)])


# Both passes are BLAS matrix-vector products written into ``out`` (no allocation). Without fastmath a
# hand-written dot-product loop cannot be vectorized (its reduction may not be reordered), and BLAS is
# both faster and the same code NumPy uses, so a NumPy reference gets bit-identical margins.


@njit(ORACLE_SIG, cache=True)
def margins(theta, data, out):
    n_rows = int(data[0])
    d = int(data[1])
    B = data[2:2 + n_rows * d].reshape((n_rows, d))
    np.dot(B, theta, out)


@njit(ORACLE_SIG, cache=True)
def combine(coef, data, out):
    n_rows = int(data[0])
    d = int(data[1])
    B = data[2:2 + n_rows * d].reshape((n_rows, d))
    np.dot(coef, B, out)


@njit(ROW_MARGIN_SIG, cache=True)
def row_margin(row, theta, data):
    d = int(data[1])
    start = 2 + row * d
    s = 0.0
    for j in range(d):
        s += data[start + j] * theta[j]
    return s


@njit(ADD_ROW_SIG, cache=True)
def add_row(row, scale, data, theta):
    d = int(data[1])
    start = 2 + row * d
    for j in range(d):
        theta[j] += scale * data[start + j]


ORACLES = {"margins": margins, "combine": combine, "row_margin": row_margin, "add_row": add_row}


def counts_of(data: np.ndarray) -> np.ndarray:
    n_rows, d = int(data[0]), int(data[1])
    return data[2 + n_rows * d:2 + n_rows * d + n_rows]


def rows_of(data: np.ndarray) -> np.ndarray:
    n_rows, d = int(data[0]), int(data[1])
    return data[2:2 + n_rows * d].reshape((n_rows, d))
