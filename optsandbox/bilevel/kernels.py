"""Jitted kernels of the bilevel family: BO-REP, the penalty methods P1/P2, LV-HBA, AID/SOBA, F2SA.

Every kernel takes the problem's oracles (typed with the family signatures of :mod:`.oracles`), the flat
``data`` array, the initial point (updated in place: it holds the last iterate on return), the
hyperparameters as plain named arguments, the iteration budget, ``record_every``, a seed, the
preallocated ``records`` array and an ``info`` array that receives [rows, status, stop_iteration].

A record row is ``[iteration, counters (N_COUNTERS), x (d_x), y (d_y), extra...]``: the kernel records the
iterate, and the run wrapper computes every metric from it with the problem's independent NumPy reference
(DESIGN rule 3: "the iterate or the metrics"), so no metric is ever counted as an oracle call and no
metric code is shared with the algorithms under test. Memory is O(problem + records x dimension).

Noise (spec 1.3): the oracles are exact; the kernel adds N(0, s^2 / b) to each gradient output and
s_h |v| zeta / sqrt(dim b) to each Hessian- or Jacobian-vector product (zeta ~ N(0, I)), with s_f, s_g,
s_h read from the data header. Noise vectors are drawn into preallocated buffers from numba's generator,
seeded once per run, so a run is deterministic for a given seed. ``same`` pair sampling reuses a noise
vector at two points (mean-squared smoothness holds), ``independent`` draws afresh.

Counting (spec 1.4): one call = one oracle at one point; a joint gradient whose two partials are both
used counts 1 call but increments both per-variable counters; ``oracle_calls`` sums calls (projections
excluded); ``samples`` sums batch sizes.
"""
import numpy as np
from numba import boolean, float64, int64, njit, types, void

from ..kernels.recording import STATUS_BUDGET, due, health
from .oracles import GradType, ProdType, ProjType

# Counter columns, in record order after the iteration column.
UL_GRAD_X = 0
UL_GRAD_Y = 1
LL_GRAD_X = 2
LL_GRAD_Y = 3
LL_HVP = 4
LL_JVP = 5
CON_VALUE = 6
CON_VJP = 7
PROJECTIONS = 8
ORACLE_CALLS = 9
SAMPLES = 10
N_COUNTERS = 11
COUNTER_NAMES = ("ul_grad_x", "ul_grad_y", "ll_grad_x", "ll_grad_y", "ll_hvp", "ll_jvp", "con_value",
                 "con_vjp", "projections", "oracle_calls", "samples")
STATE = 1 + N_COUNTERS  # first column of the iterate in a record row

_vec = float64[::1]
_mat = float64[:, ::1]
_ivec = int64[::1]


@njit(void(_vec, float64, _vec, boolean), cache=True)
def add_noise(out, scale, buf, fresh):
    """out += scale * buf, drawing buf ~ N(0, I) first when ``fresh`` (no allocation)."""
    if scale == 0.0:
        return
    for i in range(out.shape[0]):
        if fresh:
            buf[i] = np.random.standard_normal()
        out[i] += scale * buf[i]


@njit(float64(_vec), cache=True)
def norm(v):
    """Return the Euclidean norm of v."""
    s = 0.0
    for i in range(v.shape[0]):
        s += v[i] * v[i]
    return np.sqrt(s)


@njit(void(_vec, float64, _vec, float64, _vec), cache=True)
def product_noise(out, s_h, vec, batch, buf):
    """Add the random-matrix noise s_h |vec| zeta / sqrt(dim * batch) of a Hessian/Jacobian product."""
    if s_h == 0.0:
        return
    scale = s_h * norm(vec) / np.sqrt(out.shape[0] * batch)
    add_noise(out, scale, buf, True)


@njit(_vec(int64, int64, _ivec), cache=True)
def start_run(seed, iterations, info):
    """Seed the noise stream, preset ``info`` to a full-budget run and return zeroed counters."""
    np.random.seed(seed)
    info[1] = STATUS_BUDGET
    info[2] = iterations
    return np.zeros(N_COUNTERS)


@njit(int64(_ivec, int64), cache=True)
def finish(info, rows):
    """Store the row count of a run that used its whole budget; return it."""
    info[0] = rows
    return rows


@njit(types.UniTuple(_vec, 6)(int64, int64), cache=True)
def gradient_buffers(dx, dy):
    """Return uninitialized scratch (px, py, gx, gy, buf_x, buf_y): two (x, y) gradient outputs and the
    two noise buffers."""
    return np.empty(dx), np.empty(dy), np.empty(dx), np.empty(dy), np.empty(dx), np.empty(dy)


@njit(void(_vec, int64, float64, float64), cache=True)
def count_calls(counters, column, calls, samples):
    """Count ``calls`` oracle calls of one kind using ``samples`` samples in all (spec 1.4)."""
    counters[column] += calls
    counters[ORACLE_CALLS] += calls
    counters[SAMPLES] += samples


@njit(void(_vec, int64, int64, float64, float64), cache=True)
def count_joint(counters, column_x, column_y, calls, samples):
    """Count joint-gradient calls whose two partials are both used: both per-variable counters grow."""
    counters[column_x] += calls
    counters[column_y] += calls
    counters[ORACLE_CALLS] += calls
    counters[SAMPLES] += samples


@njit(void(_mat, int64, int64, _vec), cache=True)
def write_head(records, row_index, t, counters):
    """Write the iteration and the counters at the start of row ``row_index``."""
    records[row_index, 0] = t
    for k in range(N_COUNTERS):
        records[row_index, 1 + k] = counters[k]


@njit(void(_mat, int64, int64, _vec), cache=True)
def record_extra(records, row_index, offset, values):
    """Write ``values`` into row ``row_index`` from column ``offset`` on."""
    for j in range(values.shape[0]):
        records[row_index, offset + j] = values[j]


@njit(int64(_mat, int64, int64, _vec, _vec, _vec, _vec), cache=True)
def record_row(records, rows, t, counters, x, y, extra):
    """Write [t, counters, x, y, extra] into row ``rows``; return the new row count."""
    write_head(records, rows, t, counters)
    record_extra(records, rows, STATE, x)
    record_extra(records, rows, STATE + x.shape[0], y)
    record_extra(records, rows, STATE + x.shape[0] + y.shape[0], extra)
    return rows + 1


@njit(int64(_vec, _vec, _vec), cache=True)
def state_health(a, b, c):
    """Return the worst health status of three state vectors."""
    for v in (a, b, c):
        s = health(v)
        if s != STATUS_BUDGET:
            return s
    return STATUS_BUDGET


@njit(int64(_mat, int64, int64, _vec, _vec, _vec, _vec, _ivec), cache=True)
def stop_if_unhealthy(records, rows, t, counters, a, b, c, info):
    """Return 0 while a, b, c are healthy; else write a NaN row marking the stop at iteration t (counters
    kept), fill ``info`` and return the row count."""
    status = state_health(a, b, c)
    if status == STATUS_BUDGET:
        return 0
    records[rows, :] = np.nan
    write_head(records, rows, t, counters)
    info[0] = rows + 1
    info[1] = status
    info[2] = t
    return rows + 1


# ---------------------------------------------------------------------------------------------------
# BO-REP


_EPOCH_SGD_SIG = void(GradType, _vec, _vec, _vec, float64, float64, int64, int64, float64, float64, _vec, _vec, _vec,
                      _vec, _vec, _vec, _vec)


@njit(_EPOCH_SGD_SIG, cache=True)
def epoch_sgd(g_grad, data, x, y, mu, step, length, budget, s_g, radius_scale, gx, gy, u, s, w, buf, cnt):
    """Initialization refinement (spec 2.2.2a): Epoch-SGD on g(x_0, .) from y, result written into y.

    D_1 = radius_scale |mean of 64 noisy grad_y g(x_0, y_0)| / mu; epoch j runs n_j projected SGD steps
    u <- Proj_Ball(w_j, D_j)(u - gamma_j grad_y G(x_0, u)) and sets w_{j+1} to their average; then
    gamma halves, T doubles, D shrinks by sqrt(2). Counts every gradient and ball projection.
    """
    dy = y.shape[0]
    for j in range(dy):
        s[j] = 0.0
    for _ in range(64):
        g_grad(x, y, data, gx, gy)
        add_noise(gy, s_g, buf, True)
        for j in range(dy):
            s[j] += gy[j] / 64.0
    count_calls(cnt, LL_GRAD_Y, 64.0, 64.0)
    radius = radius_scale * norm(s) / mu
    for j in range(dy):
        w[j] = y[j]
    used = 0
    gamma_j = step
    length_j = length
    while used < budget:
        n_j = min(length_j, budget - used)
        for j in range(dy):
            u[j] = w[j]
            s[j] = 0.0
        for _ in range(n_j):
            g_grad(x, u, data, gx, gy)
            add_noise(gy, s_g, buf, True)
            dist = 0.0
            for j in range(dy):
                u[j] -= gamma_j * gy[j]
                dist += (u[j] - w[j]) ** 2
            dist = np.sqrt(dist)
            if dist > radius:
                for j in range(dy):
                    u[j] = w[j] + (u[j] - w[j]) * radius / dist
            for j in range(dy):
                s[j] += u[j]
        count_calls(cnt, LL_GRAD_Y, n_j, n_j)
        cnt[PROJECTIONS] += n_j
        for j in range(dy):
            w[j] = s[j] / n_j
        used += n_j
        gamma_j *= 0.5
        length_j *= 2
        radius /= np.sqrt(2.0)
    for j in range(dy):
        y[j] = w[j]


_BOREP_KERNEL_SIG = int64(GradType, GradType, ProdType, ProdType, _vec, _vec, _vec, float64, float64, float64, float64,
                          int64, int64, float64, boolean, int64, float64, int64, float64, int64, int64, int64, _mat,
                          _ivec)


@njit(_BOREP_KERNEL_SIG, cache=True)
def borep_kernel(f_grad, g_grad, ll_hvp, ll_jvp, data, x, y, eta, beta, nu, gamma, period, n_inner,
                 eps_norm, authors_order, init_budget, init_step, init_length, mu, iterations, record_every,
                 seed, records, info):
    """BO-REP (Hao, Gong, Liu, ICLR 2024), spec 2.2.1 (practical) and 2.2.2 (theory: init_budget > 0).

    Symbols: eta (UL step length), beta (momentum), nu (step of the linear-system variable v),
    gamma (LL SGD step), period = I, n_inner = N. Per iteration k:
    every I-th k: N SGD steps y <- y - gamma grad_y G(x_k, y); then (p_x, p_y) = grad F(x_k, y);
    v <- v - nu (grad^2_yy G v - p_y); q = p_x - grad^2_xy G v (new v); m <- beta m + (1 - beta) q;
    x <- x - eta m / (|m| + eps_norm). ``authors_order`` takes the HVP at the pre-refresh y, as the
    authors' code does. Rows carry v as extra columns. Returns the number of rows.
    """
    dx = x.shape[0]
    dy = y.shape[0]
    s_f = data[3]
    s_g = data[4]
    s_h = data[5]
    cnt = start_run(seed, iterations, info)
    v = np.zeros(dy)
    m = np.zeros(dx)
    px, py, gx, gy, buf_x, buf_y = gradient_buffers(dx, dy)
    hv = np.empty(dy)
    jv = np.empty(dx)
    y_before = np.empty(dy)
    scratch = np.empty((4, dy))
    if init_budget > 0:
        epoch_sgd(g_grad, data, x, y, mu, init_step, init_length, init_budget, s_g, 2.0, gx, gy,
                  scratch[0], scratch[1], scratch[2], buf_y, cnt)
    rows = 0
    for k in range(iterations + 1):
        if due(k, record_every) or k == iterations:
            rows = record_row(records, rows, k, cnt, x, y, v)
        if k == iterations:
            break
        refresh = k % period == 0
        if refresh:
            for j in range(dy):
                y_before[j] = y[j]
            for _ in range(n_inner):
                g_grad(x, y, data, gx, gy)
                add_noise(gy, s_g, buf_y, True)
                for j in range(dy):
                    y[j] -= gamma * gy[j]
            count_calls(cnt, LL_GRAD_Y, n_inner, n_inner)
        f_grad(x, y, data, px, py)
        add_noise(px, s_f, buf_x, True)
        add_noise(py, s_f, buf_y, True)
        if refresh and authors_order:
            ll_hvp(x, y_before, v, data, gx, hv)
        else:
            ll_hvp(x, y, v, data, gx, hv)
        product_noise(hv, s_h, v, 1.0, buf_y)
        for j in range(dy):
            v[j] -= nu * (hv[j] - py[j])
        ll_jvp(x, y, v, data, jv, gy)
        product_noise(jv, s_h, v, 1.0, buf_x)
        count_joint(cnt, UL_GRAD_X, UL_GRAD_Y, 1.0, 1.0)
        count_calls(cnt, LL_HVP, 1.0, 1.0)
        count_calls(cnt, LL_JVP, 1.0, 1.0)
        for j in range(dx):
            m[j] = beta * m[j] + (1.0 - beta) * (px[j] - jv[j])
        scale = eta / (norm(m) + eps_norm)
        for j in range(dx):
            x[j] -= scale * m[j]
        stopped = stop_if_unhealthy(records, rows, k + 1, cnt, x, y, v, info)
        if stopped > 0:
            return stopped
    return finish(info, rows)


# ---------------------------------------------------------------------------------------------------
# AID / SOBA / MA-SOBA


_AID_KERNEL_SIG = int64(GradType, GradType, ProdType, ProdType, _vec, _vec, _vec, boolean, int64, int64, boolean,
                        float64, float64, float64, float64, float64, int64, int64, int64, _mat, _ivec)


@njit(_AID_KERNEL_SIG, cache=True)
def aid_kernel(f_grad, g_grad, ll_hvp, ll_jvp, data, x, y, simultaneous, inner_steps, linsys_steps, use_cg,
               beta_ma, rho_bar, e_rho, gamma_bar, e_gamma, iterations, record_every, seed, records, info):
    """The AID/SOBA family (spec 5.1): SOBA (simultaneous), MA-SOBA and AID (sequential; gd or CG on v).

    Steps rho_t = rho_bar (t+1)^-e_rho (y and v), gamma_t = gamma_bar (t+1)^-e_gamma (x). Simultaneous:
    one LL sample for grad_y G, HVP and JVP at (x_t, y_t, v_t); y, v updated together; D = p_x - JVP(v_t).
    Sequential: T SGD steps on y, then Q GD (or CG, warm-started) steps on v at the new y, then
    D = p_x - JVP(v). u <- beta_ma u + (1 - beta_ma) D; x <- x - gamma_t u. Rows carry v as extra.
    """
    dx = x.shape[0]
    dy = y.shape[0]
    s_f = data[3]
    s_g = data[4]
    s_h = data[5]
    cnt = start_run(seed, iterations, info)
    v = np.zeros(dy)
    u = np.zeros(dx)
    px, py, gx, gy, buf_x, buf_y = gradient_buffers(dx, dy)
    hv = np.empty(dy)
    jv = np.empty(dx)
    res = np.empty(dy)
    direction = np.empty(dy)
    rows = 0
    for t in range(iterations + 1):
        if due(t, record_every) or t == iterations:
            rows = record_row(records, rows, t, cnt, x, y, v)
        if t == iterations:
            break
        rho = rho_bar * (t + 1.0) ** (-e_rho)
        gam = gamma_bar * (t + 1.0) ** (-e_gamma)
        if simultaneous:
            g_grad(x, y, data, gx, gy)
            add_noise(gy, s_g, buf_y, True)
            f_grad(x, y, data, px, py)
            add_noise(px, s_f, buf_x, True)
            add_noise(py, s_f, buf_y, True)
            ll_hvp(x, y, v, data, gx, hv)
            product_noise(hv, s_h, v, 1.0, buf_y)
            # out_y of the product signature has length d_y: pass the d_y scratch ``res`` (gx has length d_x,
            # and numba does not bounds-check; gy still holds grad_y G, needed below)
            ll_jvp(x, y, v, data, jv, res)
            product_noise(jv, s_h, v, 1.0, buf_x)
            for j in range(dy):
                y[j] -= rho * gy[j]
                v[j] -= rho * (hv[j] - py[j])
            count_calls(cnt, LL_GRAD_Y, 1.0, 1.0)
            count_joint(cnt, UL_GRAD_X, UL_GRAD_Y, 1.0, 1.0)
            count_calls(cnt, LL_HVP, 1.0, 1.0)
            count_calls(cnt, LL_JVP, 1.0, 1.0)
        else:
            for _ in range(inner_steps):
                g_grad(x, y, data, gx, gy)
                add_noise(gy, s_g, buf_y, True)
                for j in range(dy):
                    y[j] -= rho * gy[j]
            count_calls(cnt, LL_GRAD_Y, inner_steps, inner_steps)
            f_grad(x, y, data, px, py)
            add_noise(px, s_f, buf_x, True)
            add_noise(py, s_f, buf_y, True)
            count_joint(cnt, UL_GRAD_X, UL_GRAD_Y, 1.0, 1.0)
            if use_cg:
                # Conjugate gradient on (grad^2_yy g) v = p_y, warm-started: one HVP for the residual, then
                # one per step; stops early once the residual vanishes.
                ll_hvp(x, y, v, data, gx, hv)
                product_noise(hv, s_h, v, 1.0, buf_y)
                n_hvp = 1
                rr = 0.0
                for j in range(dy):
                    res[j] = py[j] - hv[j]
                    direction[j] = res[j]
                    rr += res[j] * res[j]
                for _ in range(linsys_steps):
                    if rr <= 1e-300:
                        break
                    ll_hvp(x, y, direction, data, gx, hv)
                    product_noise(hv, s_h, direction, 1.0, buf_y)
                    n_hvp += 1
                    pap = 0.0
                    for j in range(dy):
                        pap += direction[j] * hv[j]
                    if pap <= 0.0:
                        break
                    step = rr / pap
                    rr_new = 0.0
                    for j in range(dy):
                        v[j] += step * direction[j]
                        res[j] -= step * hv[j]
                        rr_new += res[j] * res[j]
                    for j in range(dy):
                        direction[j] = res[j] + (rr_new / rr) * direction[j]
                    rr = rr_new
                count_calls(cnt, LL_HVP, n_hvp, n_hvp)
            else:
                for _ in range(linsys_steps):
                    ll_hvp(x, y, v, data, gx, hv)
                    product_noise(hv, s_h, v, 1.0, buf_y)
                    for j in range(dy):
                        v[j] -= rho * (hv[j] - py[j])
                count_calls(cnt, LL_HVP, linsys_steps, linsys_steps)
            ll_jvp(x, y, v, data, jv, res)  # res: a d_y scratch for the unused out_y (see above)
            product_noise(jv, s_h, v, 1.0, buf_x)
            count_calls(cnt, LL_JVP, 1.0, 1.0)
        for j in range(dx):
            u[j] = beta_ma * u[j] + (1.0 - beta_ma) * (px[j] - jv[j])
            x[j] -= gam * u[j]
        stopped = stop_if_unhealthy(records, rows, t + 1, cnt, x, y, v, info)
        if stopped > 0:
            return stopped
    return finish(info, rows)


# ---------------------------------------------------------------------------------------------------
# F2SA


_F2SA_KERNEL_SIG = int64(GradType, GradType, ProjType, _vec, _vec, _vec, _vec, int64, float64, float64, float64, float64,
                         boolean, int64, int64, int64, _mat, _ivec)


@njit(_F2SA_KERNEL_SIG, cache=True)
def f2sa_kernel(f_grad, g_grad, proj_y, data, x, y, z, inner_steps, c_alpha, c_gamma, k0, r_x, same_pair,
                iterations, record_every, seed, records, info):
    """F2SA (Kwon, Kwon, Wright, Nowak, ICML 2023), spec 5.2, paper-form schedule.

    alpha_k = c_alpha (k + k0)^(-5/7), gamma_k = c_gamma (k + k0)^(-4/7), lambda_k = gamma_k / (2 alpha_k).
    T times: z <- Proj_Y(z - gamma_k grad_y G(x, z)); y <- Proj_Y(y - alpha_k [grad_y F(x, y) +
    lambda_k grad_y G(x, y)]). Then x <- x - r_x alpha_k [grad_x F(x, y) + lambda_k (grad_x G(x, y) -
    grad_x G(x, z))], the two grad_x G sharing their noise when ``same_pair``. Rows carry z and lambda_k.
    """
    dx = x.shape[0]
    dy = y.shape[0]
    s_f = data[3]
    s_g = data[4]
    cnt = start_run(seed, iterations, info)
    px, py, gx, gy, buf_x, buf_y = gradient_buffers(dx, dy)
    gzx = np.empty(dx)
    gzy = np.empty(dy)
    lam_out = np.zeros(1)
    rows = 0
    for k in range(iterations + 1):
        alpha = c_alpha * (k + k0) ** (-5.0 / 7.0)
        gamma = c_gamma * (k + k0) ** (-4.0 / 7.0)
        lam = gamma / (2.0 * alpha)
        if due(k, record_every) or k == iterations:
            lam_out[0] = lam
            record_extra(records, rows, STATE + dx + 2 * dy, lam_out)
            rows = record_row(records, rows, k, cnt, x, y, z)
        if k == iterations:
            break
        for _ in range(inner_steps):
            g_grad(x, z, data, gzx, gzy)
            add_noise(gzy, s_g, buf_y, True)
            for j in range(dy):
                z[j] -= gamma * gzy[j]
            proj_y(x, z, data)
            f_grad(x, y, data, px, py)
            add_noise(py, s_f, buf_y, True)
            g_grad(x, y, data, gx, gy)
            add_noise(gy, s_g, buf_y, True)
            for j in range(dy):
                y[j] -= alpha * (py[j] + lam * gy[j])
            proj_y(x, y, data)
        count_calls(cnt, LL_GRAD_Y, 2.0 * inner_steps, 2.0 * inner_steps)
        count_calls(cnt, UL_GRAD_Y, inner_steps, inner_steps)
        cnt[PROJECTIONS] += 2.0 * inner_steps
        f_grad(x, y, data, px, py)
        add_noise(px, s_f, buf_x, True)
        g_grad(x, y, data, gx, gy)
        add_noise(gx, s_g, buf_x, True)
        g_grad(x, z, data, gzx, gzy)
        add_noise(gzx, s_g, buf_x, not same_pair)
        count_calls(cnt, UL_GRAD_X, 1.0, 1.0)
        count_calls(cnt, LL_GRAD_X, 2.0, 2.0)
        for j in range(dx):
            x[j] -= r_x * alpha * (px[j] + lam * (gx[j] - gzx[j]))
        stopped = stop_if_unhealthy(records, rows, k + 1, cnt, x, y, z, info)
        if stopped > 0:
            return stopped
    return finish(info, rows)


# ---------------------------------------------------------------------------------------------------
# Penalty methods of Kwon, Kwon, Wright, Nowak (ICLR 2024)


_PENALTY_KERNEL_SIG = int64(GradType, GradType, ProjType, _vec, _vec, _vec, _vec, float64, float64, float64, float64, int64,
                            float64, float64, boolean, int64, int64, int64, _mat, _ivec)


@njit(_PENALTY_KERNEL_SIG, cache=True)
def penalty_kernel(f_grad, g_grad, proj_y, data, x, y, z, sigma, alpha, gamma_y, gamma_z, inner_steps,
                   batch_inner, batch_outer, same_pair, iterations, record_every, seed, records, info):
    """P1, the double-loop penalty method (spec 3.2.1): fixed sigma, warm-started inner loops.

    Per outer iteration k: M steps y <- Proj_Y(y - gamma_y [sigma grad_y F(x_k, y) + grad_y G(x_k, y)]);
    M steps z <- Proj_Y(z - gamma_z grad_y G(x_k, z)); then
    d_k = grad_x F(x_k, y) + [grad_x G(x_k, y) - grad_x G(x_k, z)] / sigma and x <- x_k - alpha d_k.
    Inner oracles average ``batch_inner`` samples, outer ones ``batch_outer`` (noise / sqrt(batch)); with
    ``same_pair`` the two grad_x G terms share one noise draw. Rows carry z as extra columns.
    """
    dx = x.shape[0]
    dy = y.shape[0]
    s_f_in = data[3] / np.sqrt(batch_inner)
    s_g_in = data[4] / np.sqrt(batch_inner)
    s_f_out = data[3] / np.sqrt(batch_outer)
    s_g_out = data[4] / np.sqrt(batch_outer)
    cnt = start_run(seed, iterations, info)
    px, py, gx, gy, buf_x, buf_y = gradient_buffers(dx, dy)
    gzx = np.empty(dx)
    gzy = np.empty(dy)
    rows = 0
    for k in range(iterations + 1):
        if due(k, record_every) or k == iterations:
            rows = record_row(records, rows, k, cnt, x, y, z)
        if k == iterations:
            break
        for _ in range(inner_steps):
            f_grad(x, y, data, px, py)
            add_noise(py, s_f_in, buf_y, True)
            g_grad(x, y, data, gx, gy)
            add_noise(gy, s_g_in, buf_y, True)
            for j in range(dy):
                y[j] -= gamma_y * (sigma * py[j] + gy[j])
            proj_y(x, y, data)
        for _ in range(inner_steps):
            g_grad(x, z, data, gzx, gzy)
            add_noise(gzy, s_g_in, buf_y, True)
            for j in range(dy):
                z[j] -= gamma_z * gzy[j]
            proj_y(x, z, data)
        count_calls(cnt, UL_GRAD_Y, inner_steps, 0.0)  # samples of all six calls counted below
        count_calls(cnt, LL_GRAD_Y, 2.0 * inner_steps, 0.0)
        cnt[PROJECTIONS] += 2.0 * inner_steps
        f_grad(x, y, data, px, py)
        add_noise(px, s_f_out, buf_x, True)
        g_grad(x, y, data, gx, gy)
        add_noise(gx, s_g_out, buf_x, True)
        g_grad(x, z, data, gzx, gzy)
        add_noise(gzx, s_g_out, buf_x, not same_pair)
        count_calls(cnt, UL_GRAD_X, 1.0, 0.0)
        count_calls(cnt, LL_GRAD_X, 2.0, 0.0)
        cnt[SAMPLES] += 3.0 * inner_steps * batch_inner + 3.0 * batch_outer
        for j in range(dx):
            x[j] -= alpha * (px[j] + (gx[j] - gzx[j]) / sigma)
        stopped = stop_if_unhealthy(records, rows, k + 1, cnt, x, y, z, info)
        if stopped > 0:
            return stopped
    return finish(info, rows)


_PENALTY_DIRECTIONS_SIG = void(GradType, GradType, _vec, _vec, _vec, _vec, float64, _vec, _vec, _vec, _vec, _vec, _vec, _vec,
                               _vec, _vec, _vec, boolean)


@njit(_PENALTY_DIRECTIONS_SIG, cache=True)
def penalty_directions(f_grad, g_grad, data, x, y, z, sigma, dx_out, dy_out, dz_out, px, py, gx, gy, nx,
                       ny, nz, fresh):
    """Write the three penalty directions of P2 at w = (x, y, z) with the noise buffers (drawn if fresh).

    D_y = sigma grad_y F(x, y) + grad_y G(x, y); D_z = grad_y G(x, z);
    D_x = grad_x F(x, y) + [grad_x G(x, y) - grad_x G(x, z)] / sigma. With additive noise and a shared
    draw, the noise of the two grad_x G terms cancels (spec 3.2.3 remark).
    """
    s_f = data[3]
    s_g = data[4]
    dxn = x.shape[0]
    f_grad(x, y, data, px, py)
    add_noise(px, s_f, nx, fresh)
    add_noise(py, s_f, ny, fresh)
    for j in range(dxn):
        dx_out[j] = px[j]
    for j in range(y.shape[0]):
        dy_out[j] = sigma * py[j]
    g_grad(x, y, data, gx, gy)
    add_noise(gy, s_g, nz, fresh)
    for j in range(dxn):
        dx_out[j] += gx[j] / sigma
    for j in range(y.shape[0]):
        dy_out[j] += gy[j]
    g_grad(x, z, data, gx, gy)
    # the z-point shares the LL sample of the y-point (same zeta); only grad_y G(x, z) is perturbed here
    add_noise(gy, s_g, nz, False)
    for j in range(dxn):
        dx_out[j] -= gx[j] / sigma
    for j in range(z.shape[0]):
        dz_out[j] = gy[j]


_PENALTY_STORM_KERNEL_SIG = int64(GradType, GradType, ProjType, _vec, _vec, _vec, _vec, float64, float64, float64, float64,
                                  float64, int64, int64, int64, int64, _mat, _ivec)


@njit(_PENALTY_STORM_KERNEL_SIG, cache=True)
def penalty_storm_kernel(f_grad, g_grad, proj_y, data, x, y, z, sigma, alpha, gamma_y, gamma_z, momentum,
                         init_batch, iterations, record_every, seed, records, info):
    """P2, the single-loop momentum-assisted penalty method (spec 3.2.2), same-sample pairs.

    D_y, D_z, D_x start from the average of ``init_batch`` noisy directions at w_0. Per iteration:
    y <- Proj_Y(y - gamma_y D_y), z <- Proj_Y(z - gamma_z D_z), x <- x - alpha D_x; then, with one sample
    shared by both points, D <- D_hat(w_{k+1}) + (1 - a)(D - D_hat(w_k)) for each direction
    (a = ``momentum``; a = 1 is single-loop SGDA). 6 gradient calls per iteration.
    """
    dx = x.shape[0]
    dy = y.shape[0]
    cnt = start_run(seed, iterations, info)
    Dx = np.zeros(dx)
    Dy = np.zeros(dy)
    Dz = np.zeros(dy)
    ex = np.empty(dx)
    ey = np.empty(dy)
    ez = np.empty(dy)
    ox = np.empty(dx)
    oy = np.empty(dy)
    oz = np.empty(dy)
    px, py, gx, gy, nx, ny = gradient_buffers(dx, dy)
    nz = np.empty(dy)
    x_old = np.empty(dx)
    y_old = np.empty(dy)
    z_old = np.empty(dy)
    for _ in range(init_batch):
        penalty_directions(f_grad, g_grad, data, x, y, z, sigma, ex, ey, ez, px, py, gx, gy, nx, ny, nz, True)
        for j in range(dx):
            Dx[j] += ex[j] / init_batch
        for j in range(dy):
            Dy[j] += ey[j] / init_batch
            Dz[j] += ez[j] / init_batch
    count_joint(cnt, UL_GRAD_X, UL_GRAD_Y, init_batch, init_batch)
    count_joint(cnt, LL_GRAD_X, LL_GRAD_Y, 2.0 * init_batch, 2.0 * init_batch)
    rows = 0
    for k in range(iterations + 1):
        if due(k, record_every) or k == iterations:
            rows = record_row(records, rows, k, cnt, x, y, z)
        if k == iterations:
            break
        for j in range(dx):
            x_old[j] = x[j]
            x[j] -= alpha * Dx[j]
        for j in range(dy):
            y_old[j] = y[j]
            z_old[j] = z[j]
            y[j] -= gamma_y * Dy[j]
            z[j] -= gamma_z * Dz[j]
        proj_y(x, y, data)
        proj_y(x, z, data)
        penalty_directions(f_grad, g_grad, data, x, y, z, sigma, ex, ey, ez, px, py, gx, gy, nx, ny, nz, True)
        penalty_directions(f_grad, g_grad, data, x_old, y_old, z_old, sigma, ox, oy, oz, px, py, gx, gy, nx,
                           ny, nz, False)
        for j in range(dx):
            Dx[j] = ex[j] + (1.0 - momentum) * (Dx[j] - ox[j])
        for j in range(dy):
            Dy[j] = ey[j] + (1.0 - momentum) * (Dy[j] - oy[j])
            Dz[j] = ez[j] + (1.0 - momentum) * (Dz[j] - oz[j])
        count_joint(cnt, UL_GRAD_X, UL_GRAD_Y, 2.0, 2.0)
        count_joint(cnt, LL_GRAD_X, LL_GRAD_Y, 4.0, 4.0)
        cnt[PROJECTIONS] += 2.0
        stopped = stop_if_unhealthy(records, rows, k + 1, cnt, x, y, z, info)
        if stopped > 0:
            return stopped
    return finish(info, rows)


# ---------------------------------------------------------------------------------------------------
# LV-HBA


_LVHBA_KERNEL_SIG = int64(GradType, GradType, GradType, ProdType, ProjType, ProjType, _vec, _vec, _vec, _vec, _vec, _vec,
                          float64, float64, float64, float64, float64, float64, float64, float64, int64, int64, int64, _mat,
                          _ivec)


@njit(_LVHBA_KERNEL_SIG, cache=True)
def lvhba_kernel(f_grad, g_grad, con_value, con_vjp, proj_y, proj_c, data, x, y, z, theta, lam, alpha, beta,
                 eta, gamma1, gamma2, c_lo, p, r, iterations, record_every, seed, records, info):
    """LV-HBA (Yao, Yu, Zeng, Zhang, ICLR 2024), spec 4.2: single loop, Hessian-free.

    c_k = c_lo (k+1)^p. (1) One simultaneous projected primal-dual step on the proximal inner saddle
    problem at (x_k, y_k, z_k): d_theta = grad_y g(x, theta) + grad_y q(x, theta)^T lam + (theta - y)/gamma1,
    d_lam = -q(x, theta) + (lam - z)/gamma2; theta <- Proj_Y(theta - eta d_theta), lam <- Proj_Z(lam - eta
    d_lam). (2) d_x = grad_x f/c_k + grad_x g(x, y) - grad_x g(x, theta+) - grad_x q(x, theta+)^T lam+,
    d_y = grad_y f/c_k + grad_y g(x, y) - (y - theta+)/gamma1, d_z = (z - lam+)/gamma2;
    (x, y) <- Proj_C((x, y) - alpha (d_x, d_y)), z <- Proj_Z(z - beta d_z). Z = [0, r]^l, or [-r, r]^l for
    equality constraints (data[6] = 1). Rows carry theta, lam, z as extra columns.
    """
    dx = x.shape[0]
    dy = y.shape[0]
    nl = z.shape[0]
    s_f = data[3]
    s_g = data[4]
    lower = -r if data[6] > 0.5 else 0.0
    cnt = start_run(seed, iterations, info)
    px, py, gx, gy, buf_x, buf_y = gradient_buffers(dx, dy)
    tx = np.empty(dx)
    ty = np.empty(dy)
    qx = np.empty(dx)
    qy = np.empty(dy)
    qv = np.empty(nl)
    dlam = np.empty(nl)
    proj_c(x, y, data)
    cnt[PROJECTIONS] += 1.0
    base = STATE + dx + dy  # extra columns: theta, lam, z
    rows = 0
    for k in range(iterations + 1):
        if due(k, record_every) or k == iterations:
            record_extra(records, rows, base + dy, lam)
            record_extra(records, rows, base + dy + nl, z)
            rows = record_row(records, rows, k, cnt, x, y, theta)
        if k == iterations:
            break
        ck = c_lo * (k + 1.0) ** p
        # (1) inner primal-dual step at (x_k, y_k, z_k)
        g_grad(x, theta, data, tx, ty)
        add_noise(ty, s_g, buf_y, True)
        con_value(x, theta, data, qv, qy)
        con_vjp(x, theta, lam, data, qx, qy)
        for i in range(nl):
            dlam[i] = -qv[i] + (lam[i] - z[i]) / gamma2
        for j in range(dy):
            theta[j] -= eta * (ty[j] + qy[j] + (theta[j] - y[j]) / gamma1)
        proj_y(x, theta, data)
        for i in range(nl):
            lam[i] = min(max(lam[i] - eta * dlam[i], lower), r)
        # (2) projected gradient step on phi_k with (theta+, lam+)
        f_grad(x, y, data, px, py)
        add_noise(px, s_f, buf_x, True)
        add_noise(py, s_f, buf_y, True)
        g_grad(x, y, data, gx, gy)
        add_noise(gx, s_g, buf_x, True)
        add_noise(gy, s_g, buf_y, True)
        g_grad(x, theta, data, tx, ty)
        add_noise(tx, s_g, buf_x, True)
        con_vjp(x, theta, lam, data, qx, qy)
        for j in range(dx):
            x[j] -= alpha * (px[j] / ck + gx[j] - tx[j] - qx[j])
        for j in range(dy):
            y[j] -= alpha * (py[j] / ck + gy[j] - (y[j] - theta[j]) / gamma1)
        proj_c(x, y, data)
        for i in range(nl):
            z[i] = min(max(z[i] - beta * (z[i] - lam[i]) / gamma2, lower), r)
        count_calls(cnt, LL_GRAD_Y, 1.0, 1.0)  # g at theta_k, step (1)
        count_calls(cnt, CON_VALUE, 1.0, 1.0)
        count_calls(cnt, CON_VJP, 2.0, 2.0)
        count_joint(cnt, UL_GRAD_X, UL_GRAD_Y, 1.0, 1.0)
        count_joint(cnt, LL_GRAD_X, LL_GRAD_Y, 1.0, 1.0)  # g at (x_k, y_k)
        count_calls(cnt, LL_GRAD_X, 1.0, 1.0)  # g at theta+, step (2)
        cnt[PROJECTIONS] += 4.0
        stopped = stop_if_unhealthy(records, rows, k + 1, cnt, x, y, theta, info)
        if stopped > 0:
            return stopped
    return finish(info, rows)
