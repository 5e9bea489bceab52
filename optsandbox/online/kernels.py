"""Jitted kernel of the online family: one SEA game loop serving OOMD (three cases) and the baselines.

Per round t = 1..T: the schedule oracle gives (c_t, s_t); the learner plays x_t; the environment draws
z_t uniform on the sphere (exactly d standard normals per round from the run's seed, whatever the method,
so every method sees the same losses for a seed: common random numbers); the learner observes
g_t = Q (x_t - c_t) + s_t z_t (its only gradient) and updates.

The kernel keeps O(d) running sums (sum c_s, sum c_s^T Q c_s, sum xi_s, sum F_s(x_s), sum f_s(x_s)) and, at
record points, evaluates both comparators in closed form: min over the ball of
(t/2) x^T Q x - b^T x (+ const) is a convex trust-region problem with diagonal Q, solved by bisection on
the multiplier nu in x(nu) = b / (t q + nu) (``ball_quadratic_min``). Memory O(d^2 + records).

Recorded columns: see ``COLUMNS``. ``eta`` is the Euclidean step of the round (NaN for the matrix-step
methods). Under E3 (nonconvex components) the realized regret is NaN: its comparator is a nonconvex
problem with no closed form; the pseudo-regret is unaffected (E f_t = F_t).
"""
import numpy as np
from numba import float64, int64, njit

from ..kernels.projections import project_ball
from ..kernels.recording import STATUS_BUDGET, due, health
from .oracles import HEADER, ScheduleType

COLUMNS = ("iteration", "T", "grad_calls", "projections", "pseudo_regret", "realized_regret", "cum_sigma2",
           "cum_Sigma2", "cum_Sigma2_from2", "eta")

OOMD_CONVEX = 0
OOMD_STRONGLY_CONVEX = 1
OOMD_EXP_CONCAVE = 2
OGD = 3
OPTIMISTIC_FTRL = 4
ONS = 5

GEOMETRIC = 1.1  # extra record points at t ~ 1.1^j so that log-log fits see every scale

_vec = float64[::1]
_mat = float64[:, ::1]


def capacity(T: int, record_every: int) -> int:
    """Return an upper bound on the number of record rows of a T-round run."""
    return T // record_every + int(np.log(max(T, 2)) / np.log(GEOMETRIC)) + 8


@njit(float64(float64, _vec, _vec, float64, _vec), cache=True)
def ball_quadratic_min(t, q, b, R, x):
    """Return min over ||x|| <= R of (t/2) x^T diag(q) x - b^T x; the minimizer is written into x.

    KKT: x = b / (t q + nu), nu >= 0, nu (||x|| - R) = 0. If the unconstrained minimizer (nu = 0) exists
    and lies in the ball it is the answer; otherwise ||x(nu)|| decreases from > R to <= R on
    (0, ||b||/R], and 200 bisection steps locate nu to rounding.
    """
    d = q.shape[0]
    inside = True
    s = 0.0
    for i in range(d):
        if t * q[i] <= 0.0:
            if b[i] != 0.0:
                inside = False
            x[i] = 0.0
        else:
            x[i] = b[i] / (t * q[i])
            s += x[i] * x[i]
    if not inside or s > R * R:
        bn = 0.0
        for i in range(d):
            bn += b[i] * b[i]
        lo = 0.0
        hi = np.sqrt(bn) / R
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            s = 0.0
            for i in range(d):
                v = b[i] / (t * q[i] + mid)
                s += v * v
            if s > R * R:
                lo = mid
            else:
                hi = mid
        for i in range(d):
            x[i] = b[i] / (t * q[i] + hi)
    value = 0.0
    for i in range(d):
        value += 0.5 * t * q[i] * x[i] * x[i] - b[i] * x[i]
    return value


@njit(float64(_mat, _vec, float64, _vec), cache=True)
def project_ball_metric(U, y, R, x):
    """Write argmin_{||x|| <= R} (x - y)^T U (x - y) into x; return the multiplier nu (0 if y is inside).

    Outside the ball: x(nu) = (U + nu I)^-1 U y with ||x(nu)|| = R; with U = V diag(w) V^T (eigh) and
    z = V^T y, ||x(nu)||^2 = sum_i (w_i z_i / (w_i + nu))^2 decreases in nu, root in
    [0, w_max (||y||/R - 1)], found by bisection. eigh allocates its outputs: it runs only on rounds whose
    Newton step leaves the ball.
    """
    d = y.shape[0]
    s = 0.0
    for i in range(d):
        s += y[i] * y[i]
    if s <= R * R:
        for i in range(d):
            x[i] = y[i]
        return 0.0
    w, V = np.linalg.eigh(U)
    z = V.T @ y
    lo = 0.0
    hi = w[d - 1] * (np.sqrt(s) / R - 1.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        r = 0.0
        for i in range(d):
            v = w[i] * z[i] / (w[i] + mid)
            r += v * v
        if r > R * R:
            lo = mid
        else:
            hi = mid
    for i in range(d):
        z[i] = w[i] * z[i] / (w[i] + hi)
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += V[i, j] * z[j]
        x[i] = acc
    return hi


@njit(float64(_mat, _mat, _vec, float64, _vec), cache=True)
def rank_one_update(A, A_inv, g, c, work):
    """A += c g g^T and A_inv updated by Sherman-Morrison; return the denominator 1 + c g^T A_inv g."""
    d = g.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += A_inv[i, j] * g[j]
        work[i] = acc
    denom = 1.0
    for i in range(d):
        denom += c * g[i] * work[i]
    for i in range(d):
        for j in range(d):
            A[i, j] += c * g[i] * g[j]
            A_inv[i, j] -= c * work[i] * work[j] / denom
    return denom


_ONLINE_KERNEL_SIG = int64(int64, ScheduleType, _vec, int64, int64, int64, _vec, float64, _mat, _vec, int64[::1])


@njit(_ONLINE_KERNEL_SIG, cache=True)
def online_kernel(method, schedule, data, T, record_every, seed, p, sigma1_sq, records, x_out, info):
    """Play T rounds of the SEA game with ``method``; return the number of record rows.

    ``p`` holds the method's scalars: OOMD convex [D, delta, G]; OOMD strongly convex [lambda, t0];
    OOMD exp-concave [beta, delta]; OGD [mode (0 convex, 1 strongly convex), D, G, lambda];
    optimistic FTRL [D, nu]; ONS [gamma, eps]. ``sigma1_sq`` is Sigma_1^2 = sup_x ||grad F_1(x)||^2
    (the t = 1 term with grad F_0 = 0), computed by the caller. ``info`` receives [rows, status, stop].
    """
    d = int(data[0])
    R = data[1]
    q = data[HEADER:HEADER + d]
    kappa_nc = data[7]
    v_nc = data[HEADER + 2 * d:HEADER + 3 * d]
    v_sq = 0.0
    for i in range(d):
        v_sq += v_nc[i] * v_nc[i]
    np.random.seed(seed)
    c = np.zeros(d)
    c_prev = np.zeros(d)
    x = np.zeros(d)
    x_hat = np.zeros(d)
    m = np.zeros(d)  # optimism vector M_t = g_{t-1}, M_1 = 0
    g = np.zeros(d)
    y = np.zeros(d)
    z = np.zeros(d)
    work = np.zeros(d)
    sum_c = np.zeros(d)
    sum_xi = np.zeros(d)
    sum_g = np.zeros(d)
    b = np.zeros(d)
    x_cmp = np.zeros(d)
    A = np.zeros((d, d))
    A_inv = np.zeros((d, d))
    if method == OOMD_EXP_CONCAVE or method == ONS:
        reg = p[1]
        for i in range(d):
            A[i, i] = reg
            A_inv[i, i] = 1.0 / reg
    V_sum = 0.0  # OOMD convex: sum ||g_s - M_s||^2
    W_sum = 0.0  # optimistic FTRL: sum eta_s ||g_s - M_s||^2
    sum_F = 0.0
    sum_f = 0.0
    sum_cQc = 0.0
    cum_sigma2 = 0.0
    cum_Sigma2 = 0.0
    cum_from2 = 0.0
    projections = 0.0
    rows = 0
    status = STATUS_BUDGET
    stop = T
    next_geo = 1.0
    for t in range(1, T + 1):
        s_t = schedule(t, data, c)
        if t == 1:
            Sigma_t = sigma1_sq
        else:
            Sigma_t = 0.0
            for i in range(d):
                v = q[i] * (c[i] - c_prev[i])
                Sigma_t += v * v
            cum_from2 += Sigma_t
        cum_Sigma2 += Sigma_t
        cum_sigma2 += s_t * s_t + kappa_nc * kappa_nc * v_sq
        # ---- play x_t
        eta = np.nan
        if method == OOMD_CONVEX:
            eta = p[0] / np.sqrt(p[1] + 4.0 * p[2] * p[2] + V_sum)
            for i in range(d):
                x[i] = x_hat[i] - eta * m[i]
            project_ball(x, R)
            projections += 1.0
        elif method == OOMD_STRONGLY_CONVEX:
            eta = 2.0 / (p[0] * (t + p[1]))
            for i in range(d):
                x[i] = x_hat[i] - eta * m[i]
            project_ball(x, R)
            projections += 1.0
        elif method == OOMD_EXP_CONCAVE:
            for i in range(d):
                acc = 0.0
                for j in range(d):
                    acc += A_inv[i, j] * m[j]
                y[i] = x_hat[i] - acc
            project_ball_metric(A, y, R, x)
            projections += 1.0
        elif method == OPTIMISTIC_FTRL:
            eta = p[0] * p[0] / (p[1] + W_sum)
            for i in range(d):
                x[i] = -0.5 * eta * (sum_g[i] + m[i])
            project_ball(x, R)
            projections += 1.0
        # OGD and ONS play their current x.
        # ---- the environment's round
        nz = 0.0
        for i in range(d):
            z[i] = np.random.standard_normal()
            nz += z[i] * z[i]
        nz = np.sqrt(nz)
        F_t = 0.0
        f_t = 0.0
        for i in range(d):
            xi = s_t * z[i] / nz
            r = x[i] - c[i]
            g[i] = q[i] * r + xi
            F_t += 0.5 * q[i] * r * r
            f_t += xi * x[i]
            sum_xi[i] += xi
            sum_c[i] += c[i]
            sum_cQc += q[i] * c[i] * c[i]
        f_t += F_t
        if kappa_nc > 0.0:
            # E3: xi = sign of the round's first normal (still exactly d draws per round, fair sign)
            xi_sign = 1.0 if z[0] >= 0.0 else -1.0
            vx = 0.0
            for i in range(d):
                vx += v_nc[i] * x[i]
            for i in range(d):
                g[i] += xi_sign * kappa_nc * np.cos(vx) * v_nc[i]
            f_t += xi_sign * kappa_nc * np.sin(vx)
        sum_F += F_t
        sum_f += f_t
        # ---- update
        if method == OOMD_CONVEX or method == OOMD_STRONGLY_CONVEX:
            for i in range(d):
                x_hat[i] -= eta * g[i]
            project_ball(x_hat, R)
            projections += 1.0
            for i in range(d):
                v = g[i] - m[i]
                V_sum += v * v
                m[i] = g[i]
        elif method == OOMD_EXP_CONCAVE:
            for i in range(d):
                acc = 0.0
                for j in range(d):
                    acc += A_inv[i, j] * g[j]
                y[i] = x_hat[i] - acc
            project_ball_metric(A, y, R, x_hat)
            projections += 1.0
            rank_one_update(A, A_inv, g, 0.5 * p[0], work)
            for i in range(d):
                m[i] = g[i]
        elif method == OGD:
            if p[0] == 0.0:
                eta = p[1] / (p[2] * np.sqrt(t))
            else:
                eta = 1.0 / (p[3] * t)
            for i in range(d):
                x[i] -= eta * g[i]
            project_ball(x, R)
            projections += 1.0
        elif method == OPTIMISTIC_FTRL:
            for i in range(d):
                v = g[i] - m[i]
                W_sum += eta * v * v
                sum_g[i] += g[i]
                m[i] = g[i]
        elif method == ONS:
            rank_one_update(A, A_inv, g, 1.0, work)
            for i in range(d):
                acc = 0.0
                for j in range(d):
                    acc += A_inv[i, j] * g[j]
                y[i] = x[i] - acc / p[0]
            project_ball_metric(A, y, R, x)
            projections += 1.0
        for i in range(d):
            c_prev[i] = c[i]
        bad = health(x)
        if bad == STATUS_BUDGET and method <= OOMD_EXP_CONCAVE:
            bad = health(x_hat)
        if bad != STATUS_BUDGET:
            status = bad
            stop = t
            row = records[rows]
            row[:] = np.nan
            row[0] = t
            row[1] = t
            row[2] = t
            rows += 1
            break
        # ---- record
        if due(t, record_every) or t >= next_geo or t == T:
            while next_geo <= t:
                next_geo *= GEOMETRIC
            for i in range(d):
                b[i] = q[i] * sum_c[i]
            best_F = ball_quadratic_min(float(t), q, b, R, x_cmp) + 0.5 * sum_cQc
            for i in range(d):
                b[i] -= sum_xi[i]
            best_f = ball_quadratic_min(float(t), q, b, R, x_cmp) + 0.5 * sum_cQc
            if kappa_nc > 0.0:
                best_f = np.nan  # min over the ball of sum f_s is nonconvex under E3: not computed
            row = records[rows]
            row[0] = t
            row[1] = t
            row[2] = t
            row[3] = projections
            row[4] = sum_F - best_F
            row[5] = sum_f - best_f
            row[6] = cum_sigma2
            row[7] = cum_Sigma2
            row[8] = cum_from2
            row[9] = eta
            rows += 1
    for i in range(d):
        x_out[i] = x[i]
    info[0] = rows
    info[1] = status
    info[2] = stop
    return rows
