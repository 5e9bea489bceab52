"""The bilevel family's data layout and oracles (spec section 1.5, simplified to three signatures).

``data = [d_x, d_y, l, s_f, s_g, s_h, equality, payload...]`` (``HEADER`` = 7 slots): dimensions, the
number of lower-level constraints l, the additive Gaussian noise levels of the three oracle kinds (read by
the kernels, which add the noise after the exact oracle call, spec 1.3), and 1.0 when the constraints are
equalities (multipliers sign-free). The payload layout is problem-specific; each problem's oracles know it.

Family signatures (one compiled kernel serves every problem):

* ``GRAD_SIG = void(x, y, data, out_x, out_y)``: joint gradients ``f_grad`` (upper level f) and ``g_grad``
  (lower level g): out_x = grad_x, out_y = grad_y. ``con_value`` writes q(x, y) into out_x (length l).
* ``PROD_SIG = void(x, y, v, data, out_x, out_y)``: ``ll_hvp`` writes grad^2_yy g v into out_y;
  ``ll_jvp`` writes grad^2_xy g v (length d_x) into out_x; ``con_vjp`` writes grad_x q^T v and grad_y q^T v.
* ``PROJ_SIG = void(x, y, data)``, in place: ``proj_y`` projects y onto Y, ``proj_c`` projects the pair onto
  C = {(x, y) in X x Y : q(x, y) <= 0} (or = 0).

Problems (payload):

* ``quadratic`` and ``quartic_logcosh`` (S1): [A (d_y x d_y, symmetric), B (d_y x d_x), B^T, b (d_y), rho]
  (B^T stored too so that both B x and B^T y run as contiguous axpy loops);
  g = y^T A y / 2 - y^T B x; f = rho |x|^2 / 2 + |y - b|^2 / 2 (quadratic) or sum x_i^4 / 4 +
  sum log cosh(y_j - b_j) (S1).
* ``rank_deficient`` (K1): [M (m x d_y), N (m x d_x), E (d_y x d_x), c (d_y), d (d_x), box, m];
  g = |M y - N x|^2 / 2; f = |y - c - E x|^2 / 2 + |x - d|^2 / 2; Y = [-box, box]^{d_y}.
* ``coupled_inequality`` (L4): [a, d, e (each n), rho]; g = |y - a|^2 / 2, q = y - x <= 0,
  f = |y - d|^2 / 2 + rho |x - e|^2 / 2.
* ``coupled_equality`` (L1, the LV-HBA repository's LLC toy): no payload; x in R^n, y = (y1, y2) in R^{2n},
  f = |x - y2|^2/2 + |y1 - 1|^2/2, g = |y1|^2/2 - x^T y1 + 1^T y2, q = 1^T x + 1^T y = 0 (l = 1).
"""
import numpy as np
from numba import float64, njit, types, void

_vec = float64[::1]
GRAD_SIG = void(_vec, _vec, _vec, _vec, _vec)
PROD_SIG = void(_vec, _vec, _vec, _vec, _vec, _vec)
PROJ_SIG = void(_vec, _vec, _vec)

GradType = types.FunctionType(GRAD_SIG)
ProdType = types.FunctionType(PROD_SIG)
ProjType = types.FunctionType(PROJ_SIG)

HEADER = 7


def pack(d_x: int, d_y: int, n_con: int, noise: tuple, equality: bool, payload: list) -> np.ndarray:
    """Return the flat data array: header, then the payload arrays flattened in order."""
    s_f, s_g, s_h = noise
    head = [d_x, d_y, n_con, s_f, s_g, s_h, 1.0 if equality else 0.0]
    parts = [np.asarray(head, dtype=np.float64)]
    parts += [np.ascontiguousarray(p, dtype=np.float64).ravel() for p in payload]
    return np.concatenate(parts)


# ---------------------------------------------------------------------------------------------------
# Shared pieces


@njit(void(_vec, _vec, _vec), cache=True)
def identity_projection(x, y, data):
    """Leave (x, y) unchanged: X = R^{d_x}, Y = R^{d_y}, no constraint set."""
    return


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def no_constraint(x, y, data, out_x, out_y):
    """The problem has no lower-level constraint (l = 0): nothing to write."""
    return


@njit(void(_vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def no_constraint_vjp(x, y, v, data, out_x, out_y):
    """grad q^T v = 0 when there is no constraint."""
    out_x[:] = 0.0
    out_y[:] = 0.0


# ---------------------------------------------------------------------------------------------------
# quadratic / quartic_logcosh (S1): payload [A, B, b, rho]


@njit(void(_vec, _vec, _vec, _vec), cache=True)
def symmetric_matvec(A_flat, v, data, out):
    """out = A v for a symmetric row-major A, as a sum of rows (axpy form, which LLVM vectorizes)."""
    n = v.shape[0]
    A = A_flat.reshape((n, n))
    out[:] = 0.0
    for i in range(n):
        vi = v[i]
        for j in range(n):
            out[j] += A[i, j] * vi


@njit(void(float64[:, ::1], _vec, _vec), cache=True)
def neg_transpose_matvec(B, v, out):
    """out = -B^T v for a row-major B, as a sum of rows (axpy form)."""
    out[:] = 0.0
    for i in range(B.shape[0]):
        vi = v[i]
        for j in range(B.shape[1]):
            out[j] -= B[i, j] * vi


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def sq_g_grad(x, y, data, out_x, out_y):
    """grad_x g = -B^T y, grad_y g = A y - B x (B x computed from the stored B^T, in axpy form)."""
    dx = int(data[0])
    dy = int(data[1])
    o = HEADER
    B = data[o + dy * dy:o + dy * dy + dy * dx].reshape((dy, dx))
    BT = data[o + dy * dy + dy * dx:o + dy * dy + 2 * dy * dx].reshape((dx, dy))
    symmetric_matvec(data[o:o + dy * dy], y, data, out_y)
    for j in range(dx):
        xj = x[j]
        for i in range(dy):
            out_y[i] -= BT[j, i] * xj
    neg_transpose_matvec(B, y, out_x)


@njit(void(_vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def sq_hvp(x, y, v, data, out_x, out_y):
    """grad^2_yy g v = A v (written into out_y)."""
    dy = int(data[1])
    symmetric_matvec(data[HEADER:HEADER + dy * dy], v, data, out_y)


@njit(void(_vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def sq_jvp(x, y, v, data, out_x, out_y):
    """grad^2_xy g v = -B^T v (written into out_x)."""
    dx = int(data[0])
    dy = int(data[1])
    o = HEADER + dy * dy
    neg_transpose_matvec(data[o:o + dy * dx].reshape((dy, dx)), v, out_x)


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def quadratic_f_grad(x, y, data, out_x, out_y):
    """grad_x f = rho x, grad_y f = y - b."""
    dx = int(data[0])
    dy = int(data[1])
    o = HEADER + dy * dy + 2 * dy * dx
    rho = data[o + dy]
    for j in range(dx):
        out_x[j] = rho * x[j]
    for i in range(dy):
        out_y[i] = y[i] - data[o + i]


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def quartic_f_grad(x, y, data, out_x, out_y):
    """grad_x f = x^3 (elementwise), grad_y f = tanh(y - b)."""
    dx = int(data[0])
    dy = int(data[1])
    o = HEADER + dy * dy + 2 * dy * dx
    for j in range(dx):
        out_x[j] = x[j] * x[j] * x[j]
    for i in range(dy):
        out_y[i] = np.tanh(y[i] - data[o + i])


# ---------------------------------------------------------------------------------------------------
# rank_deficient (K1): payload [M (m x dy), N (m x dx), E (dy x dx), c (dy), d (dx), box, m]


@njit(types.UniTuple(float64[:, ::1], 2)(_vec), cache=True)
def k1_blocks(data):
    """Return views (M, N) of the K1 payload: M (m x d_y), N (m x d_x)."""
    dx = int(data[0])
    dy = int(data[1])
    m = int(data[data.shape[0] - 1])
    o = HEADER
    return data[o:o + m * dy].reshape((m, dy)), data[o + m * dy:o + m * dy + m * dx].reshape((m, dx))


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def k1_f_grad(x, y, data, out_x, out_y):
    """With r = y - c - E x: grad_y f = r, grad_x f = (x - d) - E^T r."""
    dx = int(data[0])
    dy = int(data[1])
    m = int(data[data.shape[0] - 1])
    o = HEADER + m * dy + m * dx
    E = data[o:o + dy * dx].reshape((dy, dx))
    c = data[o + dy * dx:o + dy * dx + dy]
    d = data[o + dy * dx + dy:o + dy * dx + dy + dx]
    for i in range(dy):
        s = y[i] - c[i]
        for j in range(dx):
            s -= E[i, j] * x[j]
        out_y[i] = s
    for j in range(dx):
        out_x[j] = x[j] - d[j]
    for i in range(dy):
        ri = out_y[i]
        for j in range(dx):
            out_x[j] -= E[i, j] * ri


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def k1_g_grad(x, y, data, out_x, out_y):
    """With s = M y - N x: grad_y g = M^T s, grad_x g = -N^T s."""
    M, N = k1_blocks(data)
    m, dy = M.shape
    dx = N.shape[1]
    out_x[:] = 0.0
    out_y[:] = 0.0
    for k in range(m):
        s = 0.0
        for i in range(dy):
            s += M[k, i] * y[i]
        for j in range(dx):
            s -= N[k, j] * x[j]
        for i in range(dy):
            out_y[i] += M[k, i] * s
        for j in range(dx):
            out_x[j] -= N[k, j] * s


@njit(void(_vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def k1_hvp(x, y, v, data, out_x, out_y):
    """grad^2_yy g v = M^T M v (into out_y)."""
    M, _ = k1_blocks(data)
    m, dy = M.shape
    out_y[:] = 0.0
    for k in range(m):
        s = 0.0
        for i in range(dy):
            s += M[k, i] * v[i]
        for i in range(dy):
            out_y[i] += M[k, i] * s


@njit(void(_vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def k1_jvp(x, y, v, data, out_x, out_y):
    """grad^2_xy g v = -N^T M v (into out_x)."""
    M, N = k1_blocks(data)
    m, dy = M.shape
    dx = N.shape[1]
    out_x[:] = 0.0
    for k in range(m):
        s = 0.0
        for i in range(dy):
            s += M[k, i] * v[i]
        for j in range(dx):
            out_x[j] -= N[k, j] * s


@njit(void(_vec, _vec, _vec), cache=True)
def k1_proj_y(x, y, data):
    """Clip y to the box [-box, box]^{d_y}."""
    box = data[data.shape[0] - 2]
    for i in range(y.shape[0]):
        if y[i] > box:
            y[i] = box
        elif y[i] < -box:
            y[i] = -box


# ---------------------------------------------------------------------------------------------------
# coupled_inequality (L4): payload [a, d, e, rho]


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def l4_f_grad(x, y, data, out_x, out_y):
    """grad_x f = rho (x - e), grad_y f = y - d."""
    n = int(data[0])
    o = HEADER
    rho = data[o + 3 * n]
    for i in range(n):
        out_x[i] = rho * (x[i] - data[o + 2 * n + i])
        out_y[i] = y[i] - data[o + n + i]


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def l4_g_grad(x, y, data, out_x, out_y):
    """grad_x g = 0, grad_y g = y - a."""
    n = int(data[0])
    for i in range(n):
        out_x[i] = 0.0
        out_y[i] = y[i] - data[HEADER + i]


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def l4_con_value(x, y, data, out_x, out_y):
    """q(x, y) = y - x (into out_x, length l = n)."""
    for i in range(x.shape[0]):
        out_x[i] = y[i] - x[i]


@njit(void(_vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def l4_con_vjp(x, y, lam, data, out_x, out_y):
    """grad_x q^T lam = -lam, grad_y q^T lam = lam."""
    for i in range(x.shape[0]):
        out_x[i] = -lam[i]
        out_y[i] = lam[i]


@njit(void(_vec, _vec, _vec), cache=True)
def l4_proj_c(x, y, data):
    """Project onto {y <= x} coordinatewise: a violated pair moves to its midpoint."""
    for i in range(x.shape[0]):
        if y[i] > x[i]:
            mid = 0.5 * (x[i] + y[i])
            x[i] = mid
            y[i] = mid


# ---------------------------------------------------------------------------------------------------
# coupled_equality (L1): no payload; x in R^n, y = (y1, y2) in R^{2n}


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def l1_f_grad(x, y, data, out_x, out_y):
    """f = |x - y2|^2/2 + |y1 - 1|^2/2: grad_x = x - y2, grad_y1 = y1 - 1, grad_y2 = y2 - x."""
    n = x.shape[0]
    for i in range(n):
        out_x[i] = x[i] - y[n + i]
        out_y[i] = y[i] - 1.0
        out_y[n + i] = y[n + i] - x[i]


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def l1_g_grad(x, y, data, out_x, out_y):
    """g = |y1|^2/2 - x^T y1 + 1^T y2: grad_x = -y1, grad_y1 = y1 - x, grad_y2 = 1."""
    n = x.shape[0]
    for i in range(n):
        out_x[i] = -y[i]
        out_y[i] = y[i] - x[i]
        out_y[n + i] = 1.0


@njit(void(_vec, _vec, _vec, _vec, _vec), cache=True)
def l1_con_value(x, y, data, out_x, out_y):
    """q(x, y) = 1^T x + 1^T y (one coupled equality; into out_x[0])."""
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    for i in range(y.shape[0]):
        s += y[i]
    out_x[0] = s


@njit(void(_vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def l1_con_vjp(x, y, lam, data, out_x, out_y):
    """grad_x q^T lam = lam 1, grad_y q^T lam = lam 1."""
    for i in range(x.shape[0]):
        out_x[i] = lam[0]
    for i in range(y.shape[0]):
        out_y[i] = lam[0]


@njit(void(_vec, _vec, _vec), cache=True)
def l1_proj_c(x, y, data):
    """Project onto {1^T x + 1^T y = 0}: subtract the mean of the stacked (x, y) from every entry."""
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    for i in range(y.shape[0]):
        s += y[i]
    m = s / (x.shape[0] + y.shape[0])
    for i in range(x.shape[0]):
        x[i] -= m
    for i in range(y.shape[0]):
        y[i] -= m


def oracle_set(kind: str) -> dict:
    """Return the oracles of a problem kind, keyed by the names the kernels' wrappers use."""
    none = {"con_value": no_constraint, "con_vjp": no_constraint_vjp, "proj_y": identity_projection,
            "proj_c": identity_projection}
    if kind == "quadratic":
        return {**none, "f_grad": quadratic_f_grad, "g_grad": sq_g_grad, "ll_hvp": sq_hvp, "ll_jvp": sq_jvp}
    if kind == "quartic_logcosh":
        return {**none, "f_grad": quartic_f_grad, "g_grad": sq_g_grad, "ll_hvp": sq_hvp, "ll_jvp": sq_jvp}
    if kind == "rank_deficient":
        return {**none, "f_grad": k1_f_grad, "g_grad": k1_g_grad, "ll_hvp": k1_hvp, "ll_jvp": k1_jvp,
                "proj_y": k1_proj_y}
    if kind == "coupled_inequality":
        # no second-order oracles: only the Hessian-free LV-HBA runs on this problem
        return {"f_grad": l4_f_grad, "g_grad": l4_g_grad, "con_value": l4_con_value, "con_vjp": l4_con_vjp,
                "proj_y": identity_projection, "proj_c": l4_proj_c}
    if kind == "coupled_equality":
        return {"f_grad": l1_f_grad, "g_grad": l1_g_grad, "con_value": l1_con_value, "con_vjp": l1_con_vjp,
                "proj_y": identity_projection, "proj_c": l1_proj_c}
    raise ValueError(f"unknown bilevel problem kind {kind!r}")
