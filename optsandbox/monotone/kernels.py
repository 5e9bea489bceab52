"""Jitted kernels of the monotone family: Halpern, VR-Halpern (Alg. 1 and 2), EG / EAG, VR-EG.

Every kernel solves 0 in F(u) + G(u), F = (1/n) sum_i F_i, through the family oracles (``oracles.py``),
counts component evaluations F_i (a full F costs n), and stops when the component-call budget
``budget_epochs * n`` is spent (an iteration in progress is finished, so the last row may overshoot by one
iteration), when the measured residual reaches ``target`` (> 0) at a record point (status converged), or
on NaN / overflow (status diverged, with the iteration).

Recording. The family spec asks for rows at fixed component-call checkpoints rather than every k
iterations, so that methods of different per-iteration cost are sampled alike: a row is written at
k = 0 and whenever ``oracle_calls`` passes the next checkpoint, checkpoints growing geometrically (x1.1)
and at least every ``record_every`` epochs. The residual of a row is a measurement (``residual`` oracle,
never added to ``oracle_calls``). Columns: see ``COLUMNS``.

Shared argument order: comp, full, resolvent, residual, data, u0, u_star (empty if unknown), the
method's scalars, budget_epochs, record_every, target, seed, records, u (receives the last iterate),
info (receives [rows, status, stop_iteration]).
"""
import numpy as np
from numba import float64, int64, njit
from numba.types import Tuple

from ..kernels.recording import STATUS_BUDGET, STATUS_CONVERGED, health
from .oracles import CompType, FullType, ResidualType, ResolventType

COLUMNS = ("iteration", "oracle_calls", "epochs", "full_passes", "resolvent_calls", "residual",
           "dist_to_sol")
GROWTH = 1.1  # checkpoint growth factor

_vec = float64[::1]
_mat = float64[:, ::1]
_info = int64[::1]


def capacity(budget_epochs: float, n: int, record_every: int) -> int:
    """Return an upper bound on the rows a run can write (checkpoints + the initial and last rows)."""
    calls = max(budget_epochs * n, 2.0)
    return int(np.log(calls) / np.log(GROWTH)) + int(budget_epochs / record_every) + 16


@njit(float64(float64, int64, int64), cache=True)
def next_checkpoint(calls, n, record_every):
    """Return the component-call count at which the next row is due."""
    step = (GROWTH - 1.0) * calls
    if step > record_every * n:
        step = record_every * n
    if step < 1.0:
        step = 1.0
    return calls + step


@njit(float64(_vec, _vec), cache=True)
def distance(u, u_star):
    """Return ||u - u_star||, or NaN when the solution is not known (empty u_star)."""
    if u_star.shape[0] == 0:
        return np.nan
    s = 0.0
    for a in range(u.shape[0]):
        r = u[a] - u_star[a]
        s += r * r
    return np.sqrt(s)


@njit(int64(_mat, int64, int64, float64, float64, float64, float64, float64, float64), cache=True)
def write_row(records, rows, k, calls, n, passes, resolvents, res, dist):
    """Write one record row; return rows + 1."""
    row = records[rows]
    row[0] = k
    row[1] = calls
    row[2] = calls / n
    row[3] = passes
    row[4] = resolvents
    row[5] = res
    row[6] = dist
    return rows + 1


@njit(int64(_mat, int64, int64, float64, float64, float64, float64), cache=True)
def write_bad_row(records, rows, k, calls, n, passes, resolvents):
    """Write the row of a stopped (non-finite / diverged) run; return rows + 1."""
    row = records[rows]
    row[:] = np.nan
    row[0] = k
    row[1] = calls
    row[2] = calls / n
    row[3] = passes
    row[4] = resolvents
    return rows + 1


# ---------------------------------------------------------------------------------------------------
# Bookkeeping shared by the kernels (row writing, health check, stop conditions)

_start_result = Tuple((int64, float64))  # (rows, next_cp)
_step_result = Tuple((int64, int64, float64))  # (status, rows, next_cp)


@njit(_start_result(ResidualType, _vec, _vec, _vec, _vec, _mat, int64, int64), cache=True)
def first_row(residual, data, u, u_star, work, records, n, record_every):
    """Write the k = 0 row (no calls spent); return (rows, next checkpoint)."""
    rows = write_row(records, 0, 0, 0.0, n, 0.0, 0.0, residual(u, data, work), distance(u, u_star))
    return rows, next_checkpoint(0.0, n, record_every)


_END_STEP_SIG = _step_result(ResidualType, _vec, _vec, _vec, _vec, _mat, int64, int64, float64, int64, float64,
                             float64, float64, float64, int64, float64)


@njit(_END_STEP_SIG, cache=True)
def end_step(residual, data, u, u_star, work, records, rows, k, calls, n, passes, resolvents, budget,
             next_cp, record_every, target):
    """After iteration k: health check, then a row at a checkpoint (or the budget's end), then the target.

    Return (status, rows, next_cp): status is STATUS_BUDGET to go on, otherwise the status the kernel
    stops with (non-finite / diverged, bad row written; or converged) and the kernel breaks.
    """
    bad = health(u)
    if bad != STATUS_BUDGET:
        rows = write_bad_row(records, rows, k, calls, n, passes, resolvents)
        return bad, rows, next_cp
    if calls >= next_cp or calls >= budget:
        res = residual(u, data, work)
        rows = write_row(records, rows, k, calls, n, passes, resolvents, res, distance(u, u_star))
        next_cp = next_checkpoint(calls, n, record_every)
        if target > 0.0 and res <= target:
            return STATUS_CONVERGED, rows, next_cp
    return STATUS_BUDGET, rows, next_cp


@njit(int64(_info, int64, int64, int64), cache=True)
def finish(info, rows, status, k):
    """Fill info = [rows, status, stop_iteration]; return rows."""
    info[0] = rows
    info[1] = status
    info[2] = k
    return rows


# ---------------------------------------------------------------------------------------------------
# Estimator pieces (shared by the kernels, tested on their own)


@njit(float64(CompType, _vec, _vec, _vec, int64, int64[::1], _vec, _vec, _vec), cache=True)
def minibatch_difference(comp, data, u, v, batch, perm, t1, t2, out):
    """Add (1/b) sum_{j in S} [F_j(u) - F_j(v)] to ``out``, S a uniform b-subset (without replacement).

    Partial Fisher-Yates on ``perm`` (any permutation of 0..n-1): O(b) per draw, no allocation; the same
    index j is used at both points (the two-point oracle of the recursive estimator). Returns the number
    of component calls (2b). Unbiased for F(u) - F(v), variance at most that of sampling with replacement.
    """
    n = int(data[1])
    d = u.shape[0]
    for j in range(batch):
        r = j + np.random.randint(0, n - j)
        tmp = perm[j]
        perm[j] = perm[r]
        perm[r] = tmp
        i = perm[j]
        comp(i, u, data, t1)
        comp(i, v, data, t2)
        for a in range(d):
            out[a] += (t1[a] - t2[a]) / batch
    return 2.0 * batch


@njit(float64(CompType, _vec, int64, _vec, _vec, _vec, _vec, _vec, _vec), cache=True)
def svrg_estimate(comp, data, i, z, w, fw, t1, t2, out):
    """Write F(w) + F_i(z) - F_i(w) into ``out`` (the loopless SVRG estimate of F(z)); return 2 (calls).

    Averaged over i uniform it equals F(z) exactly; its variance is at most L^2 ||z - w||^2 under (A-lip).
    """
    comp(i, z, data, t1)
    comp(i, w, data, t2)
    for a in range(z.shape[0]):
        out[a] = fw[a] + t1[a] - t2[a]
    return 2.0


# ---------------------------------------------------------------------------------------------------
# Plain Halpern (forward-backward form)


_HALPERN_KERNEL_SIG = int64(CompType, FullType, ResolventType, ResidualType, _vec, _vec, _vec, float64, float64, int64,
                            float64, int64, _mat, _vec, _info)


@njit(_HALPERN_KERNEL_SIG, cache=True)
def halpern_kernel(comp, full, resolvent, residual, data, u0, u_star, eta, budget_epochs, record_every,
                   target, seed, records, u, info):
    """Halpern on T = J_{eta G}(I - eta F): u_{k+1} = u_0/(k+2) + (1 - 1/(k+2)) T(u_k); n calls per step."""
    n = int(data[1])
    d = int(data[2])
    work = np.empty(2 * d)
    f = np.empty(d)
    tmp = np.empty(d)
    budget = budget_epochs * n
    u[:] = u0
    calls = 0.0
    passes = 0.0
    resolvents = 0.0
    k = 0
    status = STATUS_BUDGET
    rows, next_cp = first_row(residual, data, u, u_star, work, records, n, record_every)
    while calls < budget:
        full(u, data, f)
        calls += n
        passes += 1.0
        for a in range(d):
            tmp[a] = u[a] - eta * f[a]
        resolvent(tmp, eta, data, f)
        resolvents += 1.0
        lam = 1.0 / (k + 2.0)
        for a in range(d):
            u[a] = lam * u0[a] + (1.0 - lam) * f[a]
        k += 1
        status, rows, next_cp = end_step(residual, data, u, u_star, work, records, rows, k, calls, n,
                                         passes, resolvents, budget, next_cp, record_every, target)
        if status != STATUS_BUDGET:
            break
    return finish(info, rows, status, k)


# ---------------------------------------------------------------------------------------------------
# Algorithm 1: VR-Halpern, cocoercive case (loopless recursive estimator)


_VR_HALPERN_KERNEL_SIG = int64(CompType, FullType, ResolventType, ResidualType, _vec, _vec, _vec, float64, int64, float64,
                               int64, float64, int64, _mat, _vec, _info, int64[::1])


@njit(_VR_HALPERN_KERNEL_SIG, cache=True)
def vr_halpern_kernel(comp, full, resolvent, residual, data, u0, u_star, eta, batch, budget_epochs,
                      record_every, target, seed, records, u, info, perm):
    """Alg. 1 (Cai, Alacaoglu, Diakonikolas 2024): u_{k+1} = J(lam_k u_0 + (1 - lam_k) u_k - eta Ft_k).

    Ft_0 = F(u_0); for k >= 1, with probability p_k a full pass Ft_k = F(u_k), otherwise
    Ft_k = Ft_{k-1} + (1/b) sum_{j in S} [F_j(u_k) - F_j(u_{k-1})], S a uniform b-subset drawn without
    replacement (partial Fisher-Yates on ``perm``). lam_k = 2/(k+4); p_k = 1 (k <= 1), 4/(k+4)
    (k <= sqrt(n) + 1), 4/(sqrt(n)+5) afterwards.
    """
    n = int(data[1])
    d = int(data[2])
    np.random.seed(seed)
    work = np.empty(2 * d)
    ft = np.empty(d)
    u_prev = np.empty(d)
    t1 = np.empty(d)
    t2 = np.empty(d)
    tmp = np.empty(d)
    for j in range(n):
        perm[j] = j
    budget = budget_epochs * n
    root_n = np.sqrt(n)
    u[:] = u0
    u_prev[:] = u0
    calls = 0.0
    passes = 0.0
    resolvents = 0.0
    k = 0
    status = STATUS_BUDGET
    rows, next_cp = first_row(residual, data, u, u_star, work, records, n, record_every)
    full(u, data, ft)
    calls += n
    passes += 1.0
    while calls < budget:
        if k >= 1:
            if k <= 1:
                p = 1.0
            elif k <= root_n + 1.0:
                p = 4.0 / (k + 4.0)
            else:
                p = 4.0 / (root_n + 5.0)
            if np.random.random() < p:
                full(u, data, ft)
                calls += n
                passes += 1.0
            else:
                calls += minibatch_difference(comp, data, u, u_prev, batch, perm, t1, t2, ft)
        lam = 2.0 / (k + 4.0)
        for a in range(d):
            u_prev[a] = u[a]
            tmp[a] = lam * u0[a] + (1.0 - lam) * u[a] - eta * ft[a]
        resolvent(tmp, eta, data, u)
        resolvents += 1.0
        k += 1
        status, rows, next_cp = end_step(residual, data, u, u_star, work, records, rows, k, calls, n,
                                         passes, resolvents, budget, next_cp, record_every, target)
        if status != STATUS_BUDGET:
            break
    return finish(info, rows, status, k)


# ---------------------------------------------------------------------------------------------------
# Algorithm 2: inexact Halpern on the resolvent, VR-FoRB inner solver


_INEXACT_HALPERN_KERNEL_SIG = int64(CompType, FullType, ResolventType, ResidualType, _vec, _vec, _vec, float64, float64, float64,
                                    float64, int64, int64, float64, int64, float64, int64, _mat, _vec, _info)


@njit(_INEXACT_HALPERN_KERNEL_SIG, cache=True)
def inexact_halpern_kernel(comp, full, resolvent, residual, data, u0, u_star, eta, gamma, p, inner_scale,
                           inner_min, reset_to_anchor, budget_epochs, record_every, target, seed, records,
                           u, info):
    """Alg. 2: u_{k+1} = u_0/(k+2) + (1 - 1/(k+2)) v_k, v_k ~ J_{eta(F+G)}(u_k) by M_k VR-FoRB steps.

    Inner problem: 0 in Phi(v) + eta G(v), Phi(v) = eta F(v) + v - u_k (1-strongly monotone). VR-FoRB
    (Alacaoglu-Malitsky): vbar = alpha v + (1 - alpha) w;
    v <- J(vbar - gamma [Phi(w) + Phi_i(v) - Phi_i(w_prev)]), i uniform (2 calls); with probability p the
    snapshot moves, w <- v (published rule) or w <- u_k (``reset_to_anchor``, the public scripts' rule),
    and Phi(w) is recomputed (n calls). alpha = 1 - p. M_k = max(inner_min, ceil(inner_scale ln(k+2))).
    """
    n = int(data[1])
    d = int(data[2])
    np.random.seed(seed)
    work = np.empty(2 * d)
    v = np.empty(d)
    w = np.empty(d)
    w_prev = np.empty(d)
    phi_w = np.empty(d)
    t1 = np.empty(d)
    t2 = np.empty(d)
    tmp = np.empty(d)
    alpha = 1.0 - p
    budget = budget_epochs * n
    u[:] = u0
    calls = 0.0
    passes = 0.0
    resolvents = 0.0
    k = 0
    status = STATUS_BUDGET
    rows, next_cp = first_row(residual, data, u, u_star, work, records, n, record_every)
    while calls < budget:
        inner = int(np.ceil(inner_scale * np.log(k + 2.0)))
        if inner < inner_min:
            inner = inner_min
        v[:] = u
        w[:] = u
        w_prev[:] = u
        full(w, data, phi_w)
        calls += n
        passes += 1.0
        for a in range(d):
            phi_w[a] = eta * phi_w[a] + w[a] - u[a]
        for t in range(inner):
            i = np.random.randint(0, n)
            comp(i, v, data, t1)
            comp(i, w_prev, data, t2)
            calls += 2.0
            for a in range(d):
                g = phi_w[a] + eta * (t1[a] - t2[a]) + (v[a] - w_prev[a])
                tmp[a] = alpha * v[a] + (1.0 - alpha) * w[a] - gamma * g
            resolvent(tmp, gamma * eta, data, v)
            resolvents += 1.0
            w_prev[:] = w
            if np.random.random() < p:
                if reset_to_anchor == 1:
                    w[:] = u
                else:
                    w[:] = v
                full(w, data, phi_w)
                calls += n
                passes += 1.0
                for a in range(d):
                    phi_w[a] = eta * phi_w[a] + w[a] - u[a]
        lam = 1.0 / (k + 2.0)
        for a in range(d):
            u[a] = lam * u0[a] + (1.0 - lam) * v[a]
        k += 1
        status, rows, next_cp = end_step(residual, data, u, u_star, work, records, rows, k, calls, n,
                                         passes, resolvents, budget, next_cp, record_every, target)
        if status != STATUS_BUDGET:
            break
    return finish(info, rows, status, k)


# ---------------------------------------------------------------------------------------------------
# Extragradient and extra-anchored gradient


_EXTRAGRADIENT_KERNEL_SIG = int64(CompType, FullType, ResolventType, ResidualType, _vec, _vec, _vec, float64, int64, float64,
                                  int64, float64, int64, _mat, _vec, _info)


@njit(_EXTRAGRADIENT_KERNEL_SIG, cache=True)
def extragradient_kernel(comp, full, resolvent, residual, data, u0, u_star, alpha, anchored, budget_epochs,
                         record_every, target, seed, records, u, info):
    """EG (anchored = 0) or EAG-C (anchored = 1), 2n calls per step, beta_k = 1/(k+2) (0 for EG):

    z_half = J(z_k + beta_k (z_0 - z_k) - alpha F(z_k));  z_{k+1} = J(z_k + beta_k (z_0 - z_k) - alpha F(z_half)).
    """
    n = int(data[1])
    d = int(data[2])
    work = np.empty(2 * d)
    f = np.empty(d)
    base = np.empty(d)
    half = np.empty(d)
    tmp = np.empty(d)
    budget = budget_epochs * n
    u[:] = u0
    calls = 0.0
    passes = 0.0
    resolvents = 0.0
    k = 0
    status = STATUS_BUDGET
    rows, next_cp = first_row(residual, data, u, u_star, work, records, n, record_every)
    while calls < budget:
        beta = 1.0 / (k + 2.0) if anchored == 1 else 0.0
        full(u, data, f)
        for a in range(d):
            base[a] = u[a] + beta * (u0[a] - u[a])
            tmp[a] = base[a] - alpha * f[a]
        resolvent(tmp, alpha, data, half)
        full(half, data, f)
        for a in range(d):
            tmp[a] = base[a] - alpha * f[a]
        resolvent(tmp, alpha, data, u)
        calls += 2.0 * n
        passes += 2.0
        resolvents += 2.0
        k += 1
        status, rows, next_cp = end_step(residual, data, u, u_star, work, records, rows, k, calls, n,
                                         passes, resolvents, budget, next_cp, record_every, target)
        if status != STATUS_BUDGET:
            break
    return finish(info, rows, status, k)


# ---------------------------------------------------------------------------------------------------
# VR-EG (loopless SVRG extragradient)


_VR_EG_KERNEL_SIG = int64(CompType, FullType, ResolventType, ResidualType, _vec, _vec, _vec, float64, float64, float64,
                          int64, float64, int64, _mat, _vec, _info)


@njit(_VR_EG_KERNEL_SIG, cache=True)
def vr_eg_kernel(comp, full, resolvent, residual, data, u0, u_star, tau, p, budget_epochs, record_every,
                 target, seed, records, u, info):
    """VR-EG (Alacaoglu-Malitsky 2022): zbar = alpha z + (1-alpha) w; z_half = J(zbar - tau F(w));
    z = J(zbar - tau [F(w) + F_xi(z_half) - F_xi(w)]) (2 calls); with probability p, w <- z, F(w) anew.
    alpha = 1 - p.
    """
    n = int(data[1])
    d = int(data[2])
    np.random.seed(seed)
    work = np.empty(2 * d)
    w = np.empty(d)
    fw = np.empty(d)
    zbar = np.empty(d)
    half = np.empty(d)
    est = np.empty(d)
    t1 = np.empty(d)
    t2 = np.empty(d)
    tmp = np.empty(d)
    alpha = 1.0 - p
    budget = budget_epochs * n
    u[:] = u0
    w[:] = u0
    calls = 0.0
    passes = 0.0
    resolvents = 0.0
    k = 0
    status = STATUS_BUDGET
    rows, next_cp = first_row(residual, data, u, u_star, work, records, n, record_every)
    full(w, data, fw)
    calls += n
    passes += 1.0
    while calls < budget:
        for a in range(d):
            zbar[a] = alpha * u[a] + (1.0 - alpha) * w[a]
            tmp[a] = zbar[a] - tau * fw[a]
        resolvent(tmp, tau, data, half)
        i = np.random.randint(0, n)
        calls += svrg_estimate(comp, data, i, half, w, fw, t1, t2, est)
        for a in range(d):
            tmp[a] = zbar[a] - tau * est[a]
        resolvent(tmp, tau, data, u)
        resolvents += 2.0
        if np.random.random() < p:
            w[:] = u
            full(w, data, fw)
            calls += n
            passes += 1.0
        k += 1
        status, rows, next_cp = end_step(residual, data, u, u_star, work, records, rows, k, calls, n,
                                         passes, resolvents, budget, next_cp, record_every, target)
        if status != STATUS_BUDGET:
            break
    return finish(info, rows, status, k)
