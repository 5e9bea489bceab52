"""Jitted kernels of ZO-RankSGD (Tang, Rybin, Chang, ICLR 2024) and its comparison/value baselines.

One kernel, :func:`rank_kernel`, serves five methods that all spend exactly m function evaluations per
iteration, so iterations and evaluations are comparable across methods:

* ``RANK`` -- ZO-RankSGD: one (m, k)-ranking query on x + mu xi_1..m, g = (1/|E|) sum_i w_i xi_i with
  the DAG weights w_i = 2 r(i) - (m - 1) for the k returned points (r = 0 is the best) and +k for the
  others; ``code_weights`` uses 2 r(i) - m instead (the public code's off-by-one, spec A.4).
* ``PAIRS`` -- the same m points split into m/2 disjoint pairwise comparisons (the (2, 1) oracle),
  g = (2/m) sum_pairs (xi_worse - xi_better): the "same number of points, pairwise only" comparison.
* ``ZO_SGD`` -- two-point Gaussian ZO-SGD with function values, q = m - 1 directions and the centre:
  g = (1/q) sum_j (f(x + mu u_j) - f(x)) / mu u_j.
* ``COMPARISON_SIGN`` -- comparisons against the centre (SCOBO without sparsity):
  g = (1/q) sum_j sign(f(x + mu u_j) - f(x)) u_j.
* ``GLD`` -- gradientless descent: candidates x + v_j, v_j uniform on the sphere of radius R 2^-j,
  j = 0..m-2; move to the best of {x, candidates} (comparisons only).
* ``LINE_SEARCH`` -- the public code's practical variant (spec A.4): a gradient round (the RANK estimate,
  m points, averaged with the previous estimates since the last move), then a line-search round: one
  (n_c, 1) ranking of x, the best point of the gradient round and x - eta 2^-j gbar, j = 0..n_c-3; move
  to the winner and reset the average if it is not x. m + n_c points per iteration, two ranking calls;
  f(x_t) never increases (exact rankings).
* ``RECOMBINATION`` -- the authors' notebook heuristic: one top-k ranking of x + mu xi_i, then
  x <- sum_{r<k} (k - r) y_(r) / sum_{r<k} (k - r) (mu is a search radius here, not a smoothing radius).

The step is x <- x - eta_t g with eta_t = eta0 (``schedule`` 0, the wrapper passes eta0/sqrt(T)) or
eta0/sqrt(t + 1) (``schedule`` 1). Ranking noise (spec A.8): Thurstone -- the oracle ranks f(y_i) + s N(0, 1);
adjacent flips -- after the exact ranking each adjacent pair of the returned list is swapped with
probability p_flip, in one pass from the best down.
Ties are broken uniformly at random: a random permutation, then a stable insertion sort (m is small).
Randomness comes from the NumPy Generator passed in (``rng``), built by the runner from the run's seed.
"""
import numpy as np
from numba import boolean, float64, int64, njit, void

from ..kernels.recording import STATUS_BUDGET, STATUS_NON_FINITE, due, health
from .oracles import GradType, RngType, ValueType

RANK = 0
PAIRS = 1
ZO_SGD = 2
COMPARISON_SIGN = 3
GLD = 4
RECOMBINATION = 5
LINE_SEARCH = 6

COLUMNS = ("iteration", "rank_calls", "points_ranked", "function_evals", "comparisons_revealed", "f_gap",
           "grad_norm", "avg_grad_norm", "min_grad_norm", "weighted_avg_grad_norm", "cos_to_grad")
# info: rows, status, stop_iteration; stats: sum <g,u>, sum ||g||^2, count, avg_grad_norm over t < T,
# min_grad_norm over t < T, weighted average over t < T
N_STATS = 6

_vec = float64[::1]
_mat = float64[:, ::1]
_ivec = int64[::1]


@njit(void(RngType, _vec, int64, _ivec), cache=True)
def ranked_order(rng, values, m, order):
    """Write into ``order`` the indices of ``values`` sorted ascending, ties broken uniformly at random.

    A random permutation first, then a stable insertion sort: among equal values the permuted order
    decides, so every tie order is equally likely. O(m^2) comparisons, no allocation.
    """
    for i in range(m):
        order[i] = i
    for i in range(m - 1, 0, -1):
        j = min(int(rng.random() * (i + 1)), i)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
    for i in range(1, m):
        cur = order[i]
        v = values[cur]
        j = i - 1
        while j >= 0 and values[order[j]] > v:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = cur


@njit(float64(_ivec, int64, int64, boolean, _vec), cache=True)
def dag_weights(order, m, k, code_weights, w):
    """Write the DAG estimator weights w_i of the top-k ranking ``order``; return |E|.

    Edges i -> j ("i known better than j"): every ordered pair inside the top-k list and every returned
    point against every unreturned one, none among unreturned points. g = (1/|E|) sum_{(i->j)} (xi_j - xi_i)
    = (1/|E|) sum_i w_i xi_i with w_i = (#edges into i) - (#edges out of i): for the point of rank r < k,
    r - (k - 1 - r) - (m - k) = 2r - (m - 1); an unreturned point has k edges in and none out.
    """
    for i in range(m):
        w[i] = float(k)
    for r in range(k):
        w[order[r]] = 2.0 * r - (m - 1.0) - (1.0 if code_weights else 0.0)
    return k * (k - 1) / 2.0 + k * (m - k)


@njit(void(_vec, float64, _vec), cache=True)
def _unit_sphere(u, radius, out):
    """Write radius * u / ||u|| into out (u Gaussian: a uniform point on the sphere)."""
    s = 0.0
    for j in range(u.shape[0]):
        s += u[j] * u[j]
    s = radius / np.sqrt(s)
    for j in range(u.shape[0]):
        out[j] = s * u[j]


_ESTIMATE_SIG = float64(int64, RngType, ValueType, _vec, _vec, float64, int64, int64, boolean, float64, float64, float64,
                        _mat, _vec, _vec, _ivec, _vec, _vec)


@njit(_ESTIMATE_SIG, cache=True)
def estimate(method, rng, value, data, x, mu, m, k, code_weights, noise, flip, radius, xi, fvals, w, order, y, g):
    """Draw one estimate at x into ``g`` (for GLD: the displacement to the chosen point, as -g).

    Uses m function evaluations. Returns the number of comparisons the oracle revealed. ``xi`` (m x d),
    ``fvals`` (m), ``w`` (m), ``order`` (m) and ``y`` (d) are scratch buffers.
    """
    d = x.shape[0]
    for i in range(m):
        for j in range(d):
            xi[i, j] = rng.standard_normal()
    g[:] = 0.0
    revealed = 0.0
    if method == RANK or method == PAIRS or method == RECOMBINATION:
        for i in range(m):
            for j in range(d):
                y[j] = x[j] + mu * xi[i, j]
            fvals[i] = value(y, data)
            if noise > 0.0:
                fvals[i] += noise * rng.standard_normal()
        if method != PAIRS:
            ranked_order(rng, fvals, m, order)
            if flip > 0.0:
                for r in range(k - 1):
                    if rng.random() < flip:
                        tmp = order[r]
                        order[r] = order[r + 1]
                        order[r + 1] = tmp
        if method == RECOMBINATION:
            total = k * (k + 1) / 2.0
            for r in range(k):
                c = (k - r) / total
                i = order[r]
                for j in range(d):
                    g[j] -= c * mu * xi[i, j]  # x - g = sum_r c_r y_(r), since sum_r c_r = 1
            return k * (k - 1) / 2.0 + k * (m - k)
        if method == RANK:
            edges = dag_weights(order, m, k, code_weights, w)
            for i in range(m):
                c = w[i] / edges
                for j in range(d):
                    g[j] += c * xi[i, j]
            revealed = edges
        else:
            pairs = m // 2
            for p in range(pairs):
                a = 2 * p
                b = a + 1
                worse_a = fvals[a] > fvals[b] or (fvals[a] == fvals[b] and rng.random() < 0.5)
                s = 1.0 if worse_a else -1.0  # g += xi_worse - xi_better
                for j in range(d):
                    g[j] += s * (xi[a, j] - xi[b, j]) / pairs
            revealed = float(pairs)
        return revealed
    f0 = value(x, data)
    q = m - 1
    if method == GLD:
        best = f0
        best_i = -1
        r = radius
        for i in range(q):
            _unit_sphere(xi[i], r, y)
            for j in range(d):
                y[j] += x[j]
            fi = value(y, data)
            if fi < best:
                best = fi
                best_i = i
            r *= 0.5
        if best_i >= 0:
            r = radius * 0.5 ** best_i
            _unit_sphere(xi[best_i], r, y)
            for j in range(d):
                g[j] = -y[j]  # x - g is the chosen point when the step is 1
        return float(q)
    for i in range(q):
        for j in range(d):
            y[j] = x[j] + mu * xi[i, j]
        fi = value(y, data)
        if method == ZO_SGD:
            c = (fi - f0) / (mu * q)
        else:
            c = (1.0 if fi > f0 else (-1.0 if fi < f0 else 0.0)) / q
            revealed += 1.0
        for j in range(d):
            g[j] += c * xi[i, j]
    return revealed


@njit(float64(_vec, _vec), cache=True)
def _dot(a, b):
    s = 0.0
    for j in range(a.shape[0]):
        s += a[j] * b[j]
    return s


@njit(void(_vec, _vec), cache=True)
def _copy(src, dst):
    for j in range(src.shape[0]):
        dst[j] = src[j]


_RANK_KERNEL_SIG = int64(int64, ValueType, GradType, _vec, _vec, float64, int64, float64, int64, int64, boolean,
                         float64, float64, float64, int64, float64, int64, int64, RngType, _mat, _vec, _ivec, _vec)


@njit(_RANK_KERNEL_SIG, cache=True)
def rank_kernel(method, value, grad, data, x0, eta0, schedule, mu, m, k, code_weights, noise, flip, radius,
                n_line, f_star, iterations, record_every, rng, records, x, info, stats):
    """Run ``method`` from x0 for ``iterations`` steps; return the number of record rows written.

    Each iteration costs m function evaluations (counted in ``function_evals``; ``points_ranked`` is the
    same number for the ranking methods; ``rank_calls`` counts oracle calls: 1 per iteration for RANK,
    m/2 for PAIRS, 0 for the value-based ZO-SGD). grad f(x_t) is evaluated at every iteration as an
    uncounted measurement. ``info`` receives [rows, status, stop_iteration]; ``stats`` receives
    [sum <g, u>, sum ||g||^2, n, (1/T) sum_{t<T} ||grad f(x_t)||, min_{t<T} ||grad f||, eta-weighted
    average over t < T], u = grad f / ||grad f||.
    """
    d = x0.shape[0]
    xi = np.empty((m, d))
    fvals = np.empty(m)
    w = np.empty(m)
    order = np.empty(m, dtype=np.int64)
    y = np.empty(d)
    g = np.empty(d)
    gf = np.empty(d)
    acc = np.zeros(d)
    n_acc = 0.0
    _copy(x0, x)
    rows = 0
    status = STATUS_BUDGET
    stop_iteration = iterations
    calls = 0.0
    evals = 0.0
    revealed = 0.0
    sum_norm = 0.0
    sum_w_norm = 0.0
    sum_eta = 0.0
    min_norm = np.inf
    sum_align = 0.0
    sum_sq = 0.0
    n_est = 0.0
    cos_last = np.nan
    for t in range(iterations + 1):
        grad(x, data, gf)
        gnorm = np.sqrt(_dot(gf, gf))
        eta = eta0 if schedule == 0 else eta0 / np.sqrt(t + 1.0)
        if t < iterations:
            sum_norm += gnorm
            sum_w_norm += eta * gnorm
            sum_eta += eta
            if gnorm < min_norm:
                min_norm = gnorm
        if due(t, record_every) or t == iterations:
            row = records[rows]
            row[0] = t
            row[1] = calls
            row[2] = evals if method != ZO_SGD else 0.0
            row[3] = evals
            row[4] = revealed
            row[5] = value(x, data) - f_star
            row[6] = gnorm
            row[7] = sum_norm / t if t > 0 else gnorm
            row[8] = min_norm if t > 0 else gnorm
            row[9] = sum_w_norm / sum_eta if t > 0 else gnorm
            row[10] = cos_last
            rows += 1
        if t == iterations:
            break
        revealed += estimate(RANK if method == LINE_SEARCH else method, rng, value, data, x, mu, m, k,
                             code_weights, noise, flip, radius, xi, fvals, w, order, y, g)
        evals += m
        # A ranking of NaN/inf values is meaningless (NaN compares false, so the order would be arbitrary and
        # the bounded step would random-walk unnoticed): report it as divergence (DESIGN rule 5).
        f_bad = False
        if method == RANK or method == PAIRS or method == RECOMBINATION or method == LINE_SEARCH:
            for i in range(m):
                if not np.isfinite(fvals[i]):
                    f_bad = True
        if method == RANK or method == RECOMBINATION or method == LINE_SEARCH:
            calls += 1.0
        elif method == PAIRS:
            calls += m // 2
        elif method == COMPARISON_SIGN:
            calls += m - 1
        elif method == GLD:
            calls += 1.0  # one (m, 1) ranking: the best of the centre and the m - 1 candidates
        gg = _dot(g, g)
        if gnorm > 0.0:
            align = _dot(g, gf) / gnorm
            sum_align += align
            sum_sq += gg
            n_est += 1.0
            cos_last = align / np.sqrt(gg) if gg > 0.0 else 0.0
        if method == LINE_SEARCH:
            # line-search round: rank x, the gradient round's best point and x - eta 2^-j gbar (k = 1)
            for j in range(d):
                acc[j] += g[j]
            n_acc += 1.0
            best_f = value(x, data)
            best = -2  # -2: stay at x, -1: the gradient round's best point, j >= 0: the j-th step
            for c in range(n_line - 2):
                scale = eta0 * 0.5 ** c / n_acc
                for j in range(d):
                    y[j] = x[j] - scale * acc[j]
                fy = value(y, data)
                if fy < best_f:
                    best_f = fy
                    best = c
            top = order[0]
            for j in range(d):
                y[j] = x[j] + mu * xi[top, j]
            fy = value(y, data)
            if fy < best_f:
                best_f = fy
                best = -1
            evals += n_line
            calls += 1.0
            revealed += n_line - 1.0
            g[:] = 0.0  # x - g is the winner
            if best == -1:
                for j in range(d):
                    g[j] = -mu * xi[top, j]
            elif best >= 0:
                scale = eta0 * 0.5 ** best / n_acc
                for j in range(d):
                    g[j] = scale * acc[j]
            if best != -2:
                acc[:] = 0.0
                n_acc = 0.0
        step = 1.0 if (method == GLD or method == RECOMBINATION or method == LINE_SEARCH) else eta
        for j in range(d):
            x[j] -= step * g[j]
        bad = health(x)
        if bad == STATUS_BUDGET and f_bad:
            bad = STATUS_NON_FINITE
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = t + 1
            row = records[rows]
            row[:] = np.nan
            row[0] = t + 1
            row[1] = calls
            row[3] = evals
            rows += 1
            break
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    stats[0] = sum_align
    stats[1] = sum_sq
    stats[2] = n_est
    stats[3] = sum_norm / max(iterations, 1)
    stats[4] = min_norm
    stats[5] = sum_w_norm / sum_eta if sum_eta > 0.0 else np.nan
    return rows
