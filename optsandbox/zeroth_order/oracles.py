"""Oracles of the zeroth-order family: one signature per kind of oracle, shared by every problem.

Single-objective problems (ZO-RankSGD and its baselines) -- ``data = [d, ...problem constants]``:

* ``VALUE_SIG = float64(float64[::1] x, float64[::1] data)``: f(x). A ranking oracle is simulated by
  evaluating f at the m points and sorting; the kernels count every such evaluation.
* ``GRAD_SIG = void(float64[::1] x, float64[::1] data, float64[::1] out)``: out = grad f(x), used only for
  measurements (||grad f(x_t)||), never by an algorithm.

Federated problems (FZooS and its baselines) -- ``data = [d, N, ...per-client constants]``:

* ``CLIENT_VALUE_SIG = float64(int64 i, float64[::1] x, float64[::1] data)``: f_i(x), the only thing
  client i may ask about its objective (one query each call);
* ``CLIENT_GRAD_SIG = void(int64 i, float64[::1] x, float64[::1] data, float64[::1] out)``: grad f_i(x),
  used for measurements and for the first-order counterparts (``exact_gradients``), never counted as a
  query.

The instrumented oracle :func:`fed_quadratic_value_counted` increments ``data[counter_offset + i]`` at
every call: a test swaps it in and compares its own count with the kernel's ``queries``.
"""
import numpy as np
from numba import float64, int64, njit, types, void

_vec = float64[::1]
VALUE_SIG = float64(_vec, _vec)
GRAD_SIG = void(_vec, _vec, _vec)
CLIENT_VALUE_SIG = float64(int64, _vec, _vec)
CLIENT_GRAD_SIG = void(int64, _vec, _vec, _vec)

# A NumPy Generator passed into a kernel: numba's port of its bit generator and ziggurat normals draws a
# normal in a few ns (about 15x faster than np.random.normal inside a jitted loop on this machine), and the
# stream is the Generator's own, so a run is a function of the seed its Generator was built from.
RngType = types.NumPyRandomGeneratorType("NumPyRandomGeneratorType")

ValueType = types.FunctionType(VALUE_SIG)
GradType = types.FunctionType(GRAD_SIG)
ClientValueType = types.FunctionType(CLIENT_VALUE_SIG)
ClientGradType = types.FunctionType(CLIENT_GRAD_SIG)


# ---------------------------------------------------------------------------------------------------
# Separable objective: f(x) = sum_i [ a_i y_i^2 / 2 + beta (1 - cos(omega y_i)) ],  y = x - x_c.
# beta = 0 gives `zo_quadratic`; beta omega^2 > min a_i makes it nonconvex (`zo_wave`).
# data = [d, beta, omega, a (d), x_c (d)]


@njit(VALUE_SIG, cache=True)
def separable_value(x, data):
    d = int(data[0])
    beta = data[1]
    omega = data[2]
    s = 0.0
    for i in range(d):
        y = x[i] - data[3 + d + i]
        s += 0.5 * data[3 + i] * y * y
        if beta != 0.0:
            # 1 - cos(t) = 2 sin^2(t/2): no cancellation for small t.
            h = np.sin(0.5 * omega * y)
            s += 2.0 * beta * h * h
    return s


@njit(GRAD_SIG, cache=True)
def separable_grad(x, data, out):
    d = int(data[0])
    beta = data[1]
    omega = data[2]
    for i in range(d):
        y = x[i] - data[3 + d + i]
        out[i] = data[3 + i] * y + beta * omega * np.sin(omega * y)


# ---------------------------------------------------------------------------------------------------
# Low-rank quadratic: f(x) = x^T A x + b^T x.   data = [d, A (d*d row-major), b (d)]


@njit(VALUE_SIG, cache=True)
def lowrank_value(x, data):
    d = int(data[0])
    s = 0.0
    for i in range(d):
        row = 1 + i * d
        t = 0.0
        for j in range(d):
            t += data[row + j] * x[j]
        s += x[i] * t + data[1 + d * d + i] * x[i]
    return s


@njit(GRAD_SIG, cache=True)
def lowrank_grad(x, data, out):
    d = int(data[0])
    for i in range(d):
        row = 1 + i * d
        t = 0.0
        for j in range(d):
            t += data[row + j] * x[j]
        out[i] = 2.0 * t + data[1 + d * d + i]


# ---------------------------------------------------------------------------------------------------
# Rosenbrock: f(x) = sum_{i<d-1} [100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2].   data = [d]


@njit(VALUE_SIG, cache=True)
def rosenbrock_value(x, data):
    d = int(data[0])
    s = 0.0
    for i in range(d - 1):
        u = x[i + 1] - x[i] * x[i]
        v = 1.0 - x[i]
        s += 100.0 * u * u + v * v
    return s


@njit(GRAD_SIG, cache=True)
def rosenbrock_grad(x, data, out):
    d = int(data[0])
    out[:] = 0.0
    for i in range(d - 1):
        u = x[i + 1] - x[i] * x[i]
        out[i] += -400.0 * x[i] * u - 2.0 * (1.0 - x[i])
        out[i + 1] += 200.0 * u


SEPARABLE = {"value": separable_value, "grad": separable_grad}
LOWRANK = {"value": lowrank_value, "grad": lowrank_grad}
ROSENBROCK = {"value": rosenbrock_value, "grad": rosenbrock_grad}


# ---------------------------------------------------------------------------------------------------
# Federated quadratic (FZooS code, funcs/synthetics.py):
#   p(x) = 20 clip(x, 0, 1) - 10,  f_i(x) = (0.1/d) (sum_j c1[i,j] p_j^2 + sum_j c2[i,j] p_j + 1).
# data = [d, N, c1 (N*d), c2 (N*d), counters (N)]; the counters are written only by the counted oracle.


@njit(CLIENT_VALUE_SIG, cache=True)
def fed_quadratic_value(i, x, data):
    d = int(data[0])
    n = int(data[1])
    c1 = 2 + i * d
    c2 = 2 + n * d + i * d
    s = 1.0
    for j in range(d):
        p = 20.0 * min(max(x[j], 0.0), 1.0) - 10.0
        s += data[c1 + j] * p * p + data[c2 + j] * p
    return 0.1 * s / d


@njit(CLIENT_GRAD_SIG, cache=True)
def fed_quadratic_grad(i, x, data, out):
    d = int(data[0])
    n = int(data[1])
    c1 = 2 + i * d
    c2 = 2 + n * d + i * d
    for j in range(d):
        if x[j] < 0.0 or x[j] > 1.0:
            out[j] = 0.0  # the clipped coordinate is flat outside the box
        else:
            p = 20.0 * x[j] - 10.0
            out[j] = 0.1 * 20.0 * (2.0 * data[c1 + j] * p + data[c2 + j]) / d


@njit(CLIENT_VALUE_SIG, cache=True)
def fed_quadratic_value_counted(i, x, data):
    d = int(data[0])
    n = int(data[1])
    data[2 + 2 * n * d + i] += 1.0
    return fed_quadratic_value(i, x, data)


# ---------------------------------------------------------------------------------------------------
# Federated Levy (FZooS code): f_i(x) = levy(z), z = c1[i] * (p(x) - c2[i]),  w = 1 + (z - 1)/4,
# levy = sin^2(pi w_1) + sum_{j<d} (w_j - 1)^2 (1 + 10 sin^2(pi w_j + 1)) + (w_d - 1)^2 (1 + sin^2(2 pi w_d)).
# data = [d, N, c1 (N*d), c2 (N*d), counters (N)]


@njit(CLIENT_VALUE_SIG, cache=True)
def fed_levy_value(i, x, data):
    d = int(data[0])
    n = int(data[1])
    c1 = 2 + i * d
    c2 = 2 + n * d + i * d
    s = 0.0
    for j in range(d):
        p = 20.0 * min(max(x[j], 0.0), 1.0) - 10.0
        w = 1.0 + (data[c1 + j] * (p - data[c2 + j]) - 1.0) / 4.0
        if j == 0:
            h = np.sin(np.pi * w)
            s += h * h
        if j < d - 1:
            h = np.sin(np.pi * w + 1.0)
            s += (w - 1.0) ** 2 * (1.0 + 10.0 * h * h)
        else:
            h = np.sin(2.0 * np.pi * w)
            s += (w - 1.0) ** 2 * (1.0 + h * h)
    return s


@njit(CLIENT_GRAD_SIG, cache=True)
def fed_levy_grad(i, x, data, out):
    d = int(data[0])
    n = int(data[1])
    c1 = 2 + i * d
    c2 = 2 + n * d + i * d
    for j in range(d):
        if x[j] < 0.0 or x[j] > 1.0:
            out[j] = 0.0
            continue
        p = 20.0 * x[j] - 10.0
        w = 1.0 + (data[c1 + j] * (p - data[c2 + j]) - 1.0) / 4.0
        dw = data[c1 + j] * 20.0 / 4.0  # dw/dx_j
        g = 0.0
        if j == 0:
            g += 2.0 * np.pi * np.sin(np.pi * w) * np.cos(np.pi * w)
        if j < d - 1:
            h = np.sin(np.pi * w + 1.0)
            g += 2.0 * (w - 1.0) * (1.0 + 10.0 * h * h)
            g += (w - 1.0) ** 2 * 20.0 * np.pi * h * np.cos(np.pi * w + 1.0)
        else:
            h = np.sin(2.0 * np.pi * w)
            g += 2.0 * (w - 1.0) * (1.0 + h * h)
            g += (w - 1.0) ** 2 * 4.0 * np.pi * h * np.cos(2.0 * np.pi * w)
        out[j] = g * dw


FED_QUADRATIC = {"value": fed_quadratic_value, "grad": fed_quadratic_grad}
FED_QUADRATIC_COUNTED = {"value": fed_quadratic_value_counted, "grad": fed_quadratic_grad}
FED_LEVY = {"value": fed_levy_value, "grad": fed_levy_grad}


def counters_of(data: np.ndarray) -> np.ndarray:
    """Return the per-client call counters of a federated data array (a view)."""
    d, n = int(data[0]), int(data[1])
    return data[2 + 2 * n * d:2 + 2 * n * d + n]
