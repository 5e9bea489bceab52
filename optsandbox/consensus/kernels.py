"""Jitted kernels of the consensus family: CBO (isotropic / anisotropic), consensus hopping, gradient descent.

Every kernel advances M independent runs at once, particles stored as an (M runs, N particles, d) array as
in CBXpy. The CBO kernel parallelizes over the M*N (run, particle) work items with ``prange``; the
consensus-hopping and gradient kernels are serial (a parallel kernel costs about 2 s more to compile, and
the runners use one thread below 2e6 coordinate updates per step anyway, see algorithms.threads_for).
Noise comes from the counter-based streams of :mod:`.rng`, keyed by (seed, step, work item): results are
identical whatever the number of threads, and a run's noise does not depend on how many other runs share
the call.

* :func:`consensus_point` -- c_alpha = sum_i w_i X^i / sum_i w_i with w_i = exp(-alpha (e_i - e_min)),
  non-finite energies masked (weight 0). The min-shift makes the largest weight exactly 1, so the
  denominator is >= 1 and nothing overflows or divides 0 by 0, for any alpha >= 0 (alpha = 1e15 included:
  the consensus is then the best particle).
* :func:`cbo_kernel` -- Euler-Maruyama CBO (Fornasier, Klock, Riedl 2021/2022):
  X^i <- X^i - lam dt (X^i - c) + sigma sqrt(dt) ||X^i - c|| xi^i (isotropic) or
  sigma sqrt(dt) |X^i - c| (.) xi^i (anisotropic), with an optional multiplicative alpha schedule.
* :func:`hopping_kernel` -- consensus hopping (Riedl et al. 2023): x <- c_alpha({Y^i}), Y^i ~ N(x, sigma^2 I).
* :func:`gradient_kernel` -- the baselines: gradient descent and annealed Langevin
  x <- x - eta grad f(x) + (sigma_L / log(k + 2)) sqrt(eta) xi.

Kernels allocate their scratch once before the loop, record rows at ``due(t, record_every)`` and at the
last iteration, and stop with STATUS_NON_FINITE / STATUS_DIVERGED (never an exception) when every energy
of a run is non-finite or a coordinate leaves [-1e100, 1e100] or becomes NaN.
"""
import numpy as np
from numba import float64, int64, njit, prange, void

from ..kernels.recording import (DIVERGENCE_THRESHOLD, STATUS_BUDGET, STATUS_DIVERGED, STATUS_NON_FINITE,
                                 due)
from .oracles import EnergyType, GradType
from .rng import normal, stream_key

ISOTROPIC = 0
ANISOTROPIC = 1
PRE_DRIFT = 0  # standard Euler-Maruyama (and CBXpy): noise amplitude at the pre-update position
POST_DRIFT = 1  # the authors' MATLAB ordering: amplitude taken after the drift, i.e. (1 - lam dt) |X - c|

CBO_COLUMNS = ("iteration", "time", "f_evals", "V", "var", "consensus_dist_sq", "consensus_dist_inf",
               "consensus_value", "best_value", "alpha", "masked")
HOPPING_COLUMNS = ("iteration", "f_evals", "consensus_dist_sq", "consensus_dist_inf", "consensus_value",
                   "sigma")
GRADIENT_COLUMNS = ("iteration", "grad_evals", "dist_sq", "dist_inf", "value")

_vec = float64[::1]
_mat = float64[:, ::1]
_arr3 = float64[:, :, ::1]


@njit(int64(_vec, _mat, float64, _vec, _vec), cache=True)
def consensus_point(energies, X, alpha, weights, out):
    """Write the consensus point c_alpha of the particles X (N, d) into ``out``; return the finite count.

    Weights w_i = exp(-alpha (e_i - e_min)) over the finite energies (non-finite ones get weight 0), left
    in ``weights`` unnormalized. When no energy is finite, ``out`` is set to NaN and 0 is returned.
    """
    n = energies.shape[0]
    e_min = np.inf
    for i in range(n):
        e = energies[i]
        if np.isfinite(e) and e < e_min:
            e_min = e
    if not np.isfinite(e_min):
        out[:] = np.nan
        return 0
    total = 0.0
    count = 0
    for i in range(n):
        e = energies[i]
        if np.isfinite(e):
            gap = e - e_min  # >= 0; may be +inf when energies span more than the float range
            w = 1.0 if (gap == 0.0 or alpha == 0.0) else np.exp(-alpha * gap)
            count += 1
        else:
            w = 0.0
        weights[i] = w
        total += w
    out[:] = 0.0
    for i in range(n):
        w = weights[i]
        if w > 0.0:
            for j in range(X.shape[1]):
                out[j] += w * X[i, j]
    for j in range(X.shape[1]):
        out[j] /= total
    return count


@njit(float64(EnergyType, _vec, _arr3, _mat, _vec, _vec, _mat, _vec, float64, float64, _vec), cache=True)
def _cbo_row(f, data, X, consensus, x_star, best_energy, best, row, alpha, masked, mean_scratch):
    """Fill columns 3.. of a CBO record row with run-averaged metrics; return the mean V (for checks)."""
    M, N, d = X.shape
    V = 0.0
    var = 0.0
    dist_sq = 0.0
    dist_inf = 0.0
    value = 0.0
    best_value = 0.0
    for m in range(M):
        mean_scratch[:] = 0.0
        for i in range(N):
            for j in range(d):
                mean_scratch[j] += X[m, i, j]
        for j in range(d):
            mean_scratch[j] /= N
        for i in range(N):
            for j in range(d):
                a = X[m, i, j] - x_star[j]
                b = X[m, i, j] - mean_scratch[j]
                V += a * a
                var += b * b
        worst = 0.0
        for j in range(d):
            g = consensus[m, j] - x_star[j]
            dist_sq += g * g
            if abs(g) > worst:
                worst = abs(g)
        dist_inf += worst
        value += f(consensus[m], data)  # a measurement, not counted as an oracle call
        best_value += best_energy[m]
    row[3] = V / (2.0 * N * M)
    row[4] = var / (2.0 * N * M)
    row[5] = dist_sq / M
    row[6] = dist_inf / M
    row[7] = value / M
    row[8] = best_value / M
    row[9] = alpha
    row[10] = masked
    return row[3]


_CBO_KERNEL_SIG = int64(EnergyType, _vec, _arr3, _vec, int64, int64, float64, float64, float64, float64, float64, float64,
                        int64, int64, int64, _mat, _mat, _mat, _vec, int64[::1])


@njit(_CBO_KERNEL_SIG, parallel=True, cache=True)
def cbo_kernel(f, data, X, x_star, noise, noise_point, lam, sigma, dt, alpha, alpha_factor, alpha_max,
               iterations, record_every, seed, records, consensus, best, best_energy, info):
    """Run M independent CBO ensembles X (M, N, d) in place; return the number of record rows.

    Step k (time t = k dt), per run m, with c = c_alpha(X_m) from the N energies at the current positions:
        D^i = X^i - c
        X^i <- X^i - lam dt D^i + sigma sqrt(dt) ||D^i|| xi^i           (noise = ISOTROPIC)
        X^i <- X^i - lam dt D^i + sigma sqrt(dt) |D^i| (.) xi^i         (noise = ANISOTROPIC)
    (with POST_DRIFT the amplitude is multiplied by (1 - lam dt), the MATLAB ordering). Then
    alpha <- min(alpha * alpha_factor, alpha_max) (alpha_factor = 1: fixed alpha, as the theorem needs).
    The energies at the final positions are evaluated too, so c_K is available: f_evals = (K + 1) N per run.
    ``consensus`` (M, d) ends as c_K, ``best`` (M, d) as the best particle ever evaluated (CBXpy's output),
    ``best_energy`` (M,) as its energy. ``info`` receives [rows, status, stop_iteration].
    """
    M, N, d = X.shape
    P = M * N
    energies = np.empty((M, N))
    weights = np.empty((M, N))
    counts = np.zeros(M, dtype=np.int64)
    flags = np.zeros(P, dtype=np.int64)
    mean_scratch = np.empty(d)
    best_energy[:] = np.inf
    sq_dt = np.sqrt(dt)
    amp_scale = sigma * sq_dt * ((1.0 - lam * dt) if noise_point == POST_DRIFT else 1.0)
    drift = lam * dt
    rows = 0
    status = STATUS_BUDGET
    stop_iteration = iterations
    f_evals = 0.0
    for t in range(iterations + 1):
        for p in prange(P):
            m = p // N
            i = p - m * N
            energies[m, i] = f(X[m, i], data)
        f_evals += N
        for m in prange(M):
            counts[m] = consensus_point(energies[m], X[m], alpha, weights[m], consensus[m])
        masked = 0.0
        dead = False
        for m in range(M):
            masked += N - counts[m]
            if counts[m] == 0:
                dead = True
            for i in range(N):
                if energies[m, i] < best_energy[m]:
                    best_energy[m] = energies[m, i]
                    best[m, :] = X[m, i]
        if dead:
            status = STATUS_NON_FINITE
            stop_iteration = t
            row = records[rows]
            row[:] = np.nan
            row[0] = t
            row[1] = t * dt
            row[2] = f_evals
            rows += 1
            break
        if due(t, record_every) or t == iterations:
            row = records[rows]
            row[0] = t
            row[1] = t * dt
            row[2] = f_evals
            _cbo_row(f, data, X, consensus, x_star, best_energy, best, row, alpha, masked, mean_scratch)
            rows += 1
        if t == iterations:
            break
        for p in prange(P):
            m = p // N
            i = p - m * N
            key = stream_key(seed, t, p)
            norm2 = 0.0
            for j in range(d):
                g = X[m, i, j] - consensus[m, j]
                norm2 += g * g
            norm = np.sqrt(norm2)
            flag = 0
            counter = 0
            for j in range(d):
                xi, counter = normal(key, counter)
                g = X[m, i, j] - consensus[m, j]
                amp = amp_scale * (norm if noise == ISOTROPIC else abs(g))
                v = X[m, i, j] - drift * g + amp * xi
                X[m, i, j] = v
                if not np.isfinite(v):
                    flag = STATUS_NON_FINITE
                elif abs(v) > DIVERGENCE_THRESHOLD and flag == 0:
                    flag = STATUS_DIVERGED
            flags[p] = flag
        bad = STATUS_BUDGET
        for p in range(P):
            if flags[p] == STATUS_NON_FINITE:
                bad = STATUS_NON_FINITE
                break
            if flags[p] == STATUS_DIVERGED:
                bad = STATUS_DIVERGED
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t + 1
            row = records[rows]
            row[:] = np.nan
            row[0] = t + 1
            row[1] = (t + 1) * dt
            row[2] = f_evals
            rows += 1
            break
        if alpha_factor != 1.0:
            alpha = min(alpha * alpha_factor, alpha_max)
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    return rows


@njit(void(EnergyType, _vec, _mat, _vec, _vec), cache=True)
def ensemble_row(f, data, x, x_star, row):
    """Write the run-averaged ||x_m - x*||^2, ||x_m - x*||_inf and f(x_m) into row[2:5].

    These are measurements: the evaluations of f made here are not counted as oracle calls.
    """
    M, d = x.shape
    dist_sq = 0.0
    dist_inf = 0.0
    value = 0.0
    for m in range(M):
        worst = 0.0
        for j in range(d):
            e = x[m, j] - x_star[j]
            dist_sq += e * e
            worst = max(worst, abs(e))
        dist_inf += worst
        value += f(x[m], data)
    row[2] = dist_sq / M
    row[3] = dist_inf / M
    row[4] = value / M


_HOPPING_KERNEL_SIG = int64(EnergyType, _vec, _mat, _vec, int64, float64, float64, int64, float64, int64, int64, int64, _mat,
                            _mat, int64[::1])


@njit(_HOPPING_KERNEL_SIG, cache=True)
def hopping_kernel(f, data, x, x_star, N, sigma, sigma_factor, sigma_every, alpha, iterations, record_every,
                   seed, records, path, info):
    """Run M independent consensus-hopping chains from x (M, d) in place; return the number of record rows.

    Step k, per run m: Y^i = x_m + sigma xi^i (i = 1..N, N evaluations), x_m <- c_alpha({Y^i}); every
    ``sigma_every`` steps (0: never) sigma <- sigma * sigma_factor ("scheduled vanishing BM").
    ``path`` receives x (flattened (M d)) at each record row when it has as many rows as ``records``.
    """
    M, d = x.shape
    P = M * N
    Y = np.empty((M, N, d))
    energies = np.empty((M, N))
    weights = np.empty((M, N))
    counts = np.zeros(M, dtype=np.int64)
    keep_path = path.shape[0] == records.shape[0]
    rows = 0
    status = STATUS_BUDGET
    stop_iteration = iterations
    f_evals = 0.0
    for t in range(iterations + 1):
        if due(t, record_every) or t == iterations:
            row = records[rows]
            row[0] = t
            row[1] = f_evals
            ensemble_row(f, data, x, x_star, row)
            row[5] = sigma
            if keep_path:
                for m in range(M):
                    for j in range(d):
                        path[rows, m * d + j] = x[m, j]
            rows += 1
        if t == iterations:
            break
        for p in range(P):
            m = p // N
            i = p - m * N
            key = stream_key(seed, t, p)
            counter = 0
            for j in range(d):
                xi, counter = normal(key, counter)
                Y[m, i, j] = x[m, j] + sigma * xi
            energies[m, i] = f(Y[m, i], data)
        f_evals += N
        for m in range(M):
            counts[m] = consensus_point(energies[m], Y[m], alpha, weights[m], x[m])
        dead = False
        for m in range(M):
            if counts[m] == 0:
                dead = True
        if dead:
            status = STATUS_NON_FINITE
            stop_iteration = t + 1
            row = records[rows]
            row[:] = np.nan
            row[0] = t + 1
            row[1] = f_evals
            rows += 1
            break
        if sigma_every > 0 and (t + 1) % sigma_every == 0:
            sigma *= sigma_factor
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    return rows


_GRADIENT_KERNEL_SIG = int64(GradType, EnergyType, _vec, _mat, _vec, float64, float64, int64, int64, int64, _mat, int64[::1])


@njit(_GRADIENT_KERNEL_SIG, cache=True)
def gradient_kernel(grad, f, data, x, x_star, lr, temperature, iterations, record_every, seed, records, info):
    """Run M independent gradient-descent (temperature 0) or annealed-Langevin chains x (M, d) in place.

    Step k = 0, 1, ...: x <- x - lr grad f(x) + (temperature / log(k + 2)) sqrt(lr) xi (the spec's counter
    starts at 1 with log(k + 1)). Returns the number of record rows; ``grad_evals`` counts one gradient
    per step and run.
    """
    M, d = x.shape
    g = np.empty((M, d))
    flags = np.zeros(M, dtype=np.int64)
    rows = 0
    status = STATUS_BUDGET
    stop_iteration = iterations
    for t in range(iterations + 1):
        if due(t, record_every) or t == iterations:
            row = records[rows]
            row[0] = t
            row[1] = t
            ensemble_row(f, data, x, x_star, row)
            rows += 1
        if t == iterations:
            break
        scale = temperature / np.log(t + 2.0) * np.sqrt(lr) if temperature > 0.0 else 0.0
        for m in range(M):
            grad(x[m], data, g[m])
            key = stream_key(seed, t, m)
            flag = 0
            counter = 0
            for j in range(d):
                xi = 0.0
                if scale > 0.0:
                    xi, counter = normal(key, counter)
                v = x[m, j] - lr * g[m, j] + scale * xi
                x[m, j] = v
                if not np.isfinite(v):
                    flag = STATUS_NON_FINITE
                elif abs(v) > DIVERGENCE_THRESHOLD and flag == 0:
                    flag = STATUS_DIVERGED
            flags[m] = flag
        bad = STATUS_BUDGET
        for m in range(M):
            if flags[m] != STATUS_BUDGET:
                bad = flags[m]
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t + 1
            row = records[rows]
            row[:] = np.nan
            row[0] = t + 1
            row[1] = t + 1
            rows += 1
            break
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    return rows
