"""Jitted dynamics of the games family: projected Euler (simultaneous gradient play, TTUR) and RK4.

One kernel, :func:`dynamics_kernel`, serves every game and every scheme; the oracles are typed
``FunctionType`` so the compiled kernel is cached once. Steps are per coordinate (``steps``): a constant
vector gives single-step-size gradient play, a blockwise vector gives two-timescale (TTUR) dynamics
x_{i,k+1} = Pi_i(x_{i,k} - h_i F_i(x_k)).

Schemes (with D = diag(steps), Pi the blockwise box projection):

* EULER:        x_{k+1} = Pi(x_k - D F(x_k))                                     (1 evaluation)
* RK4:          k1 = F(x), k2 = F(x - D k1 / 2), k3 = F(x - D k2 / 2), k4 = F(x - D k3),
                x_{k+1} = Pi(x - D (k1 + 2 k2 + 2 k3 + k4) / 6)                   (4 evaluations)

Recorded columns (rows at ``due``): iteration, grad_calls, time (= k * time_step), dist_M = ||x_k - x*||_M
with the certificate's weights, dist_P = ||x_k - x*||_P in the metric the run's theorem speaks of (P = M
for single-step schemes, P = D^{-1} M for TTUR), dist_euclid. ``stats[0]`` receives the largest one-step
ratio dist_P(k+1) / dist_P(k) over every step (not only recorded ones) while dist_P is above
``ratio_floor`` (the distance below which rounding -- of x*, or of the field itself -- blurs the ratio),
so the certified per-step contraction can be checked step by step.
"""
import numpy as np
from numba import float64, int64, njit

from ..kernels.recording import STATUS_BUDGET, STATUS_CONVERGED, due, health
from .oracles import OracleType

EULER = 0
RK4 = 1
SCHEMES = {"euler": EULER, "rk4": RK4}

COLUMNS = ("iteration", "grad_calls", "time", "dist_M", "dist_P", "dist_euclid")
CONVERGED_DISTANCE = 1e-250  # below this the iterate equals x* to every digit; stop before denormals

_vec = float64[::1]
_mat = float64[:, ::1]


@njit(float64(_vec, _vec, _vec), cache=True)
def weighted_dist(x, xstar, w):
    """Return sqrt(sum_i w_i (x_i - x*_i)^2)."""
    s = 0.0
    for i in range(x.shape[0]):
        e = x[i] - xstar[i]
        s += w[i] * e * e
    return np.sqrt(s)


@njit(float64(_vec, _vec), cache=True)
def euclid_dist(x, xstar):
    """Return ||x - x*||_2."""
    s = 0.0
    for i in range(x.shape[0]):
        e = x[i] - xstar[i]
        s += e * e
    return np.sqrt(s)


@njit(int64(int64, float64, int64, _vec, _vec, _vec, _vec, _mat, int64), cache=True)
def _record(t, time_step, calls, x, xstar, w_M, w_P, records, row):
    records[row, 0] = t
    records[row, 1] = calls
    records[row, 2] = t * time_step
    records[row, 3] = weighted_dist(x, xstar, w_M)
    records[row, 4] = weighted_dist(x, xstar, w_P)
    records[row, 5] = euclid_dist(x, xstar)
    return row + 1


_DYNAMICS_KERNEL_SIG = int64(OracleType, OracleType, int64, _vec, _vec, _vec, _vec, _vec, _vec, float64, float64, int64, int64,
                             _mat, _vec, _vec, int64[::1])


@njit(_DYNAMICS_KERNEL_SIG, cache=True)
def dynamics_kernel(pseudo_grad, project, scheme, data, x0, xstar, w_M, w_P, steps, time_step, ratio_floor,
                    iterations, record_every, records, x, stats, info):
    """Run ``scheme`` from Pi(x0) for ``iterations`` steps; return the number of record rows written.

    ``info`` receives [rows, status, stop_iteration]; ``stats`` [max one-step ratio in ||.||_P, its
    iteration]. Stops with STATUS_NON_FINITE / STATUS_DIVERGED (from ``health``) instead of crashing, and
    with STATUS_CONVERGED once ||x - x*|| < 1e-250.
    """
    dim = x0.shape[0]
    g = np.empty(dim)
    y = np.empty(dim)
    k1 = np.empty(dim)
    k2 = np.empty(dim)
    k3 = np.empty(dim)
    k4 = np.empty(dim)
    project(x0, data, x)
    calls = 0
    row = _record(0, time_step, calls, x, xstar, w_M, w_P, records, 0)
    floor = ratio_floor
    d_prev = weighted_dist(x, xstar, w_P)
    stats[0] = -np.inf
    stats[1] = -1.0
    status = STATUS_BUDGET
    stop = iterations
    for t in range(1, iterations + 1):
        if scheme == EULER:
            pseudo_grad(x, data, g)
            for i in range(dim):
                y[i] = x[i] - steps[i] * g[i]
            project(y, data, x)
        else:
            pseudo_grad(x, data, k1)
            for i in range(dim):
                y[i] = x[i] - 0.5 * steps[i] * k1[i]
            pseudo_grad(y, data, k2)
            for i in range(dim):
                y[i] = x[i] - 0.5 * steps[i] * k2[i]
            pseudo_grad(y, data, k3)
            for i in range(dim):
                y[i] = x[i] - steps[i] * k3[i]
            pseudo_grad(y, data, k4)
            for i in range(dim):
                y[i] = x[i] - steps[i] * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0
            project(y, data, x)
        calls += 4 if scheme == RK4 else 1
        code = health(x)
        if code != STATUS_BUDGET:
            status = code
            stop = t
            row = _record(t, time_step, calls, x, xstar, w_M, w_P, records, row)
            break
        d = weighted_dist(x, xstar, w_P)
        if d_prev > floor:
            ratio = d / d_prev
            if ratio > stats[0]:
                stats[0] = ratio
                stats[1] = t
        d_prev = d
        if euclid_dist(x, xstar) < CONVERGED_DISTANCE:
            status = STATUS_CONVERGED
            stop = t
            row = _record(t, time_step, calls, x, xstar, w_M, w_P, records, row)
            break
        if due(t, record_every) or t == iterations:
            row = _record(t, time_step, calls, x, xstar, w_M, w_P, records, row)
    info[0] = row
    info[1] = status
    info[2] = stop
    return row
