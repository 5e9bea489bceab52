"""The privacy family's kernel: DIFF2-GD, with DP-GD as its restart-every-round special case.

``diff2_kernel`` (Murata and Suzuki, ICML 2023, family spec B.4), central trust model (the server adds the
Gaussian noise once, to the average over clients), replace-one adjacency, per-sample clipping:

    restart round (r mod T = 0):  v_r = mean_s clip_{C1}(grad l(x_r; z_s)) + C1 sigma_1 xi_r
    difference round:             c_r = C2 ||x_r - x_{r-1}||
                                  v_r = v_{r-1} + mean_s clip_{c_r}(grad l(x_r; z_s) - grad l(x_{r-1}; z_s))
                                        + c_r sigma_2 xi_r
    x_{r+1} = x_r - eta v_r,      xi_r ~ N(0, I_d) (d draws per round, one stream seeded once)

T = 1 is DP-GD (every round a restart); sigma_1 = sigma_2 = 0 with infinite radii is plain GD. The clip
is clip_c(g) = g min(1, c/||g||) with clip_c(0) = 0 and clip_0(g) = 0 (a zero radius releases v_{r-1}
unchanged: zero sensitivity, and c_r sigma_2 xi = 0 adds nothing).

Records (``COLUMNS``) of round r: per-sample gradients so far (N per restart, 2N per difference round:
the gradients at x_{r-1} are recomputed, not cached), floats sent per client, noise draws, the exact
||grad f(x_r)||^2 (unclipped, noiseless: a measurement), the utility so far
U_r = mean_{r' <= r} ||grad f(x_r')||^2, ||v_r - grad f(x_r)||^2 (the estimate's error: a sawtooth
over restart cycles), the fraction of clipped samples, and whether r restarted. A last row at r = R holds
||grad f(x_R)||^2 and the utility U = (1/R) sum_{r<R} ||grad f(x_r)||^2.
"""
import numpy as np
from numba import float64, int64, njit

from ..kernels.recording import STATUS_BUDGET, due, health
from .oracles import SampleGradType

COLUMNS = ("iteration", "rounds", "per_sample_grads", "floats_up", "noise_draws", "grad_norm_sq", "utility",
           "estimate_error_sq", "clipped_fraction", "restart")

_vec = float64[::1]
_mat = float64[:, ::1]


@njit(float64(_vec, float64), cache=True)
def clip_in_place(g, c):
    """Scale g to norm at most c (clip_c(0) = 0, clip_0(g) = 0); return 1.0 if it was scaled, else 0.0."""
    s = 0.0
    for j in range(g.shape[0]):
        s += g[j] * g[j]
    norm = np.sqrt(s)
    if norm <= c:
        return 0.0
    scale = c / norm if norm > 0.0 else 0.0
    for j in range(g.shape[0]):
        g[j] *= scale
    return 1.0


_DIFF2_KERNEL_SIG = int64(SampleGradType, _vec, _vec, float64, int64, float64, float64, float64, float64, int64, int64,
                          int64, _mat, int64[::1])


@njit(_DIFF2_KERNEL_SIG, cache=True)
def diff2_kernel(sample_grad, data, x, eta, period, C1, C2, sigma1, sigma2, rounds, record_every, seed,
                 records, info):
    """Run DIFF2-GD for ``rounds`` rounds from the x given (overwritten with x_R); return the rows written.

    ``info`` receives [rows, status, stop_iteration].
    """
    P = int(data[0])
    n = int(data[1])
    d = int(data[2])
    N = P * n
    w = 1.0 / N
    np.random.seed(seed)
    x_prev = x.copy()
    v = np.zeros(d)
    g_cur = np.zeros(d)
    g_prev = np.zeros(d)
    acc = np.zeros(d)
    full = np.zeros(d)
    per_sample = 0.0
    floats = 0.0
    draws = 0.0
    usum = 0.0
    rows = 0
    status = STATUS_BUDGET
    stop_iteration = rounds
    for r in range(rounds):
        restart = r % period == 0
        acc[:] = 0.0
        full[:] = 0.0
        clipped = 0.0
        if restart:
            for s in range(N):
                sample_grad(x, s, data, g_cur)
                for j in range(d):
                    full[j] += w * g_cur[j]
                clipped += clip_in_place(g_cur, C1)
                for j in range(d):
                    acc[j] += w * g_cur[j]
            per_sample += N
            for j in range(d):
                xi = np.random.standard_normal()
                v[j] = acc[j] + (C1 * sigma1 * xi if sigma1 > 0.0 else 0.0)  # no inf * 0 when C1 = inf
        else:
            dist = 0.0
            for j in range(d):
                dist += (x[j] - x_prev[j]) ** 2
            c = C2 * np.sqrt(dist)
            for s in range(N):
                sample_grad(x, s, data, g_cur)
                sample_grad(x_prev, s, data, g_prev)
                for j in range(d):
                    full[j] += w * g_cur[j]
                    g_cur[j] -= g_prev[j]
                clipped += clip_in_place(g_cur, c)
                for j in range(d):
                    acc[j] += w * g_cur[j]
            per_sample += 2.0 * N
            for j in range(d):
                xi = np.random.standard_normal()
                v[j] += acc[j] + (c * sigma2 * xi if sigma2 > 0.0 else 0.0)
        draws += d
        floats += d
        gn = 0.0
        err = 0.0
        for j in range(d):
            gn += full[j] * full[j]
            err += (v[j] - full[j]) ** 2
        usum += gn
        if due(r, record_every):
            row = records[rows]
            row[0] = r
            row[1] = r
            row[2] = per_sample
            row[3] = floats
            row[4] = draws
            row[5] = gn
            row[6] = usum / (r + 1)
            row[7] = err
            row[8] = clipped / N
            row[9] = 1.0 if restart else 0.0
            rows += 1
        for j in range(d):
            x_prev[j] = x[j]
            x[j] -= eta * v[j]
        bad = health(x)
        if bad != STATUS_BUDGET:
            status = bad
            stop_iteration = r + 1
            break
    if status == STATUS_BUDGET:
        full[:] = 0.0
        for s in range(N):
            sample_grad(x, s, data, g_cur)
            for j in range(d):
                full[j] += w * g_cur[j]
        gn = 0.0
        for j in range(d):
            gn += full[j] * full[j]
        row = records[rows]
        row[0] = rounds
        row[1] = rounds
        row[2] = per_sample
        row[3] = floats
        row[4] = draws
        row[5] = gn
        row[6] = usum / max(rounds, 1)
        row[7] = np.nan
        row[8] = np.nan
        row[9] = np.nan
        rows += 1
    info[0] = rows
    info[1] = status
    info[2] = stop_iteration
    return rows
