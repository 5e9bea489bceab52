"""Jitted kernels of the classification family (Tyurin 2024; Novikoff 1962).

Two kernels serve the five algorithms:

* :func:`batch_kernel` -- every full-batch method of the paper, one pass per iteration, from theta_0 = 0.
  They differ only in the coefficients of the step theta_{t+1} = theta_t + sum_i coef_i b_i, chosen by
  ``rule`` (see :func:`step_coefficients`).
* :func:`perceptron_kernel` -- Novikoff's online perceptron with four selection rules.

Both record rows into preallocated arrays (no allocation inside the loop), stop at the first separating
iterate unless told otherwise, and stop with a non-finite or diverged status instead of crashing.
"""
import numpy as np
from numba import boolean, float64, int64, njit, void

from ..kernels.recording import (STATUS_BUDGET, STATUS_CONVERGED, due, health)
from ..kernels.stable import sigmoid, softplus
from .oracles import AddRowType, OracleType, RowMarginType

LOGISTIC = 0  # LR+GD: coef_i = gamma c_i sigma(-z_i) / n
NORMALIZED_LOGISTIC = 1  # Normalized LR+GD: coef_i = gamma p_i, p = softmax(log c_i - softplus(z_i))
PERCEPTRON = 2  # Batch Perceptron: coef_i = c_i 1{z_i <= 0} / n, half of it at t = 0
NORMALIZED_PERCEPTRON = 3  # Normalized Batch Perceptron: coef_i = c_i 1{z_i <= 0} / sum_S c

BATCH_COLUMNS = ("iteration", "sample_evals", "passes", "misclassified", "loss", "grad_norm", "theta_norm",
                 "normalized_margin", "log_beta", "weight_entropy")
PERCEPTRON_COLUMNS = ("iteration", "sample_evals", "passes", "updates", "misclassified", "theta_norm")

SELECTION_CYCLIC = 0
SELECTION_RANDOM_ORDER = 1
SELECTION_FIRST = 2
SELECTION_MOST_VIOLATED = 3

_vec = float64[::1]
_mat = float64[:, ::1]


@njit(float64(_vec, _vec, float64, _vec), cache=True)
def log_weights(z, c, n, logs):
    """Write l_i = log c_i - softplus(z_i) into ``logs``; return log beta = log n - logsumexp(l).

    (1/n) sum_i c_i sigma(-z_i) = exp(logsumexp(l)) / n, so beta_t = 1 / mean weight never overflows here,
    even when every weight underflows (margins beyond ~745).
    """
    m = -np.inf
    for i in range(z.shape[0]):
        logs[i] = np.log(c[i]) - softplus(z[i])
        if logs[i] > m:
            m = logs[i]
    s = 0.0
    for i in range(z.shape[0]):
        s += np.exp(logs[i] - m)
    return np.log(n) - (m + np.log(s))


@njit(float64(int64, int64, _vec, _vec, float64, float64, _vec, _vec), cache=True)
def step_coefficients(rule, t, z, c, n, gamma, coef, logs):
    """Write the step coefficients of ``rule`` into ``coef``; return log beta (NaN unless normalized LR)."""
    log_beta = np.nan
    if rule == LOGISTIC:
        for i in range(z.shape[0]):
            coef[i] = gamma * c[i] * sigmoid(-z[i]) / n
    elif rule == NORMALIZED_LOGISTIC:
        log_beta = log_weights(z, c, n, logs)
        lse = np.log(n) - log_beta
        for i in range(z.shape[0]):
            coef[i] = gamma * np.exp(logs[i] - lse)
    elif rule == PERCEPTRON:
        # The paper's first step gives every sample the weight sigma(0) = 1/2: the gamma -> infinity limit
        # of LR+GD starts with a half step, and a full first step would follow a different path.
        scale = 0.5 / n if t == 0 else 1.0 / n
        for i in range(z.shape[0]):
            coef[i] = scale * c[i] if z[i] <= 0.0 else 0.0
    else:
        wrong = 0.0
        for i in range(z.shape[0]):
            if z[i] <= 0.0:
                wrong += c[i]
        for i in range(z.shape[0]):
            coef[i] = c[i] / wrong if (z[i] <= 0.0 and wrong > 0.0) else 0.0
    return log_beta


_BATCH_METRICS_SIG = void(OracleType, _vec, _vec, _vec, _vec, float64, _vec, _vec, _vec, float64, float64, _vec)


@njit(_BATCH_METRICS_SIG, cache=True)
def batch_metrics(combine, data, theta, z, c, n, coef, direction, logs, log_beta, gamma, row):
    """Fill one record row (columns 3..9 of BATCH_COLUMNS) from the margins z of theta.

    Measurements reuse z and are not counted as oracle calls. ``coef`` and ``direction`` are scratch.
    """
    wrong = 0.0
    loss = 0.0
    min_margin = np.inf
    for i in range(z.shape[0]):
        if z[i] <= 0.0:
            wrong += c[i]
        loss += c[i] * softplus(-z[i])
        coef[i] = c[i] * sigmoid(-z[i]) / n
        if z[i] < min_margin:
            min_margin = z[i]
    combine(coef, data, direction)
    theta_norm = np.sqrt(np.sum(theta * theta))
    row[3] = wrong
    row[4] = loss / n
    row[5] = np.sqrt(np.sum(direction * direction))
    row[6] = theta_norm
    row[7] = min_margin / theta_norm if theta_norm > 0.0 else np.nan
    row[8] = log_beta
    if np.isfinite(log_beta):
        # H(p) = -sum p_i log p_i with log p_i = l_i - logsumexp(l), computed in the log domain.
        lse = np.log(n) - log_beta
        entropy = 0.0
        for i in range(z.shape[0]):
            lp = logs[i] - lse
            entropy -= np.exp(lp) * lp
        row[9] = entropy
    else:
        row[9] = np.nan


_BATCH_KERNEL_SIG = int64(int64, OracleType, OracleType, _vec, float64, int64, int64, boolean, _mat, _mat, _vec,
                          int64[::1])


@njit(_BATCH_KERNEL_SIG, cache=True)
def batch_kernel(rule, margins, combine, data, gamma, iterations, record_every, stop_at_separation,
                 records, path, theta, info):
    """Run a full-batch method from theta_0 = 0; return the number of record rows written.

    Per iteration: z = B theta (one pass, n sample evaluations); stop if every z_i > 0 (when
    ``stop_at_separation``); theta <- theta + sum_i coef_i b_i with the coefficients of ``rule``.
    A final verification pass is counted, so separating at T costs n (T + 1) sample evaluations.

    ``path`` has one row per record row when the caller wants the iterates (limit-path tests), or a
    single dummy row otherwise. ``info`` receives [rows, status, stop_iteration, separated_at].
    """
    n_rows = int(data[0])
    d = int(data[1])
    c = data[2 + n_rows * d:2 + n_rows * d + n_rows]
    n = 0.0
    for i in range(n_rows):
        n += c[i]
    z = np.empty(n_rows)
    coef = np.empty(n_rows)
    logs = np.empty(n_rows)
    direction = np.empty(d)
    keep_path = path.shape[0] == records.shape[0]
    theta[:] = 0.0
    rows = 0
    sample_evals = 0.0
    separated_at = -1
    status = STATUS_BUDGET
    stop_iteration = iterations
    for t in range(iterations + 1):
        margins(theta, data, z)
        sample_evals += n
        separated = True
        for i in range(n_rows):
            if z[i] <= 0.0:
                separated = False
                break
        if separated and separated_at < 0:
            separated_at = t
        stop = t == iterations or (separated and stop_at_separation)
        log_beta = np.nan
        if rule == NORMALIZED_LOGISTIC:
            log_beta = log_weights(z, c, n, logs)
        if due(t, record_every) or stop or t == separated_at:
            row = records[rows]
            row[0] = t
            row[1] = sample_evals
            row[2] = sample_evals / n
            batch_metrics(combine, data, theta, z, c, n, coef, direction, logs, log_beta, gamma, row)
            if keep_path:
                path[rows, :] = theta
            rows += 1
        if stop:
            stop_iteration = t
            if separated:
                status = STATUS_CONVERGED
            break
        step_coefficients(rule, t, z, c, n, gamma, coef, logs)
        combine(coef, data, direction)
        for j in range(d):
            theta[j] += direction[j]
        bad = health(theta)
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t + 1
            row = records[rows]
            row[:] = np.nan
            row[0] = t + 1
            row[1] = sample_evals
            row[2] = sample_evals / n
            rows += 1
            break
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    info[3] = separated_at
    return rows


@njit(int64(OracleType, _vec, _vec, _vec, _vec, int64, float64, float64, int64, _mat, int64), cache=True)
def _perceptron_row(margins, data, theta, z, c, t, sample_evals, passes, updates, records, rows):
    """Record the state after t steps (margins recomputed as a measurement, not counted); return rows + 1."""
    margins(theta, data, z)
    wrong = 0.0
    for i in range(z.shape[0]):
        if z[i] <= 0.0:
            wrong += c[i]
    row = records[rows]
    row[0] = t
    row[1] = sample_evals
    row[2] = passes
    row[3] = updates
    row[4] = wrong
    row[5] = np.sqrt(np.sum(theta * theta))
    return rows + 1


_PERCEPTRON_KERNEL_SIG = int64(int64, RowMarginType, AddRowType, OracleType, _vec, int64, int64, int64, _mat, _vec,
                               int64[::1], int64[::1])


@njit(_PERCEPTRON_KERNEL_SIG, cache=True)
def perceptron_kernel(selection, row_margin, add_row, margins, data, iterations, record_every, seed,
                      records, theta, order, info):
    """Run Novikoff's perceptron from theta_0 = 0: on a sample with b_j^T theta <= 0, theta <- theta + b_j.

    ``cyclic`` and ``random_order`` visit the samples pass by pass (one sample evaluation per visit; the
    c_j copies of a row are consecutive) and stop after a pass without mistakes; ``iterations`` counts
    passes. ``first`` and ``most_violated`` spend one pass per update to find the sample; ``iterations``
    counts updates. ``order`` is an int64[n_rows] scratch buffer for the random permutation.
    ``info`` receives [rows, status, stop_iteration, updates_at_separation].
    """
    n_rows = int(data[0])
    d = int(data[1])
    c = data[2 + n_rows * d:2 + n_rows * d + n_rows]
    n = 0.0
    for i in range(n_rows):
        n += c[i]
    z = np.empty(n_rows)
    np.random.seed(seed)
    theta[:] = 0.0
    for i in range(n_rows):
        order[i] = i
    rows = 0
    updates = 0
    sample_evals = 0.0
    passes = 0.0
    status = STATUS_BUDGET
    stop_iteration = iterations
    separated_updates = -1
    rows = _perceptron_row(margins, data, theta, z, c, 0, sample_evals, passes, updates, records, rows)
    for t in range(iterations):
        separated = False
        if selection == SELECTION_CYCLIC or selection == SELECTION_RANDOM_ORDER:
            if selection == SELECTION_RANDOM_ORDER:
                for i in range(n_rows - 1, 0, -1):  # Fisher-Yates on the preallocated buffer
                    k = np.random.randint(0, i + 1)
                    order[i], order[k] = order[k], order[i]
            mistakes = 0
            for idx in range(n_rows):
                j = order[idx]
                for _ in range(int(c[j])):
                    sample_evals += 1.0
                    if row_margin(j, theta, data) <= 0.0:
                        add_row(j, 1.0, data, theta)
                        updates += 1
                        mistakes += 1
            passes += 1.0
            separated = mistakes == 0
        else:
            margins(theta, data, z)
            sample_evals += n
            passes += 1.0
            pick = -1
            worst = 0.0
            for i in range(n_rows):
                if z[i] <= 0.0:
                    if selection == SELECTION_FIRST:
                        pick = i
                        break
                    if pick < 0 or z[i] < worst:
                        pick = i
                        worst = z[i]
            if pick < 0:
                separated = True
            else:
                add_row(pick, 1.0, data, theta)
                updates += 1
        bad = health(theta)
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t + 1
            break
        if separated:
            status = STATUS_CONVERGED
            separated_updates = updates
            stop_iteration = t + 1
        if due(t + 1, record_every) or separated or t + 1 == iterations:
            rows = _perceptron_row(margins, data, theta, z, c, t + 1, sample_evals, passes, updates,
                                   records, rows)
        if separated:
            break
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    info[3] = separated_updates
    return rows
