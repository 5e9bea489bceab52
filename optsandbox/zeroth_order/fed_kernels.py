"""Jitted kernels of the federated zeroth-order methods: FZooS and FedZO / FedProx-ZO / SCAFFOLD-ZO.

Both kernels run R communication rounds over N clients with T local steps each, count every query of
f_i per client (``queries``), and record one row per round (recorded before the round's communication):

    iteration (= round r), queries (all clients), queries_per_client, floats_up, floats_down, floats,
    F_gap = F(x_r) - F*, grad_norm = ||grad F(x_r)||, dist = ||x_r - x*||,
    surrogate_cos, surrogate_rel_error (FZooS: mean over the previous round's local steps of
    cos(grad mu_i, grad f_i) and ||grad mu_i - grad f_i|| / ||grad f_i||; NaN for the FedZO family).

F and grad f_i are evaluated through the ``measure`` / ``grad`` oracles: measurements, never counted.
Randomness: one NumPy Generator (``rng``, built from the run's seed) consumed in a fixed order (clients in
index order), so a run is a function of its seed.
"""
import numpy as np
from numba import boolean, float64, int64, njit, void

from ..kernels.recording import STATUS_BUDGET, health
from .oracles import ClientGradType, ClientValueType, RngType
from .surrogates import dot, gp_fit, gp_gradient_variance, gp_mean_gradient, nearest, rff_fit, rff_gradient

COLUMNS = ("iteration", "queries", "queries_per_client", "floats_up", "floats_down", "floats", "F_gap",
           "grad_norm", "dist", "surrogate_cos", "surrogate_rel_error")

# correction modes of FZooS
CORR_NONE = 0
CORR_RFF = 1
CORR_EXACT = 2

# FedZO family
FEDZO = 0
FEDPROX = 1
SCAFFOLD_I = 2
SCAFFOLD_II = 3

_vec = float64[::1]
_mat = float64[:, ::1]
_ivec = int64[::1]
_t3 = float64[:, :, ::1]


@njit(float64(ClientValueType, int64, _vec, _vec), cache=True)
def global_value(measure, N, x, data):
    """Return F(x) = (1/N) sum_i f_i(x) through the uncounted measurement oracle."""
    s = 0.0
    for i in range(N):
        s += measure(i, x, data)
    return s / N


@njit(void(ClientGradType, int64, _vec, _vec, _vec, _vec), cache=True)
def global_gradient(grad, N, x, data, tmp, out):
    """Write grad F(x) = (1/N) sum_i grad f_i(x) into out (tmp is scratch)."""
    out[:] = 0.0
    for i in range(N):
        grad(i, x, data, tmp)
        for a in range(x.shape[0]):
            out[a] += tmp[a] / N


_RECORD_ROW_SIG = void(ClientValueType, ClientGradType, _vec, int64, _vec, _vec, float64, float64, float64, float64,
                       float64, float64, _vec, _vec, _mat, int64)


@njit(_RECORD_ROW_SIG, cache=True)
def record_row(measure, grad, data, N, x, x_star, F_star, queries, floats_up, floats_down, cos_mean,
               err_mean, tmp, gF, records, row):
    """Fill records[row] with the state at the start of a round (measurements only)."""
    r = records[row]
    global_gradient(grad, N, x, data, tmp, gF)
    dist = 0.0
    for a in range(x.shape[0]):
        dist += (x[a] - x_star[a]) ** 2
    r[1] = queries
    r[2] = queries / N
    r[3] = floats_up
    r[4] = floats_down
    r[5] = floats_up + floats_down
    r[6] = global_value(measure, N, x, data) - F_star
    r[7] = np.sqrt(dot(gF, gF))
    r[8] = np.sqrt(dist)
    r[9] = cos_mean
    r[10] = err_mean


@njit(void(_vec, boolean), cache=True)
def project_box(x, on):
    """Clip x onto [0, 1]^d when ``on``."""
    if on:
        for a in range(x.shape[0]):
            x[a] = min(max(x[a], 0.0), 1.0)


@njit(float64(ClientValueType, int64, _vec, _vec, _t3, _mat, _ivec, _vec), cache=True)
def query(value, i, x, data, HX, Hy, Hn, queries):
    """Return f_i(x) from the black box, append (x, f_i(x)) to client i's history and count the query."""
    y = value(i, x, data)
    n = Hn[i]
    if n < HX.shape[1]:
        for a in range(x.shape[0]):
            HX[i, n, a] = x[a]
        Hy[i, n] = y
        Hn[i] = n + 1
    queries[i] += 1.0
    return y


# integer parameters of fzoos_kernel (iparams)
I_CORRECTION, I_ROUNDS, I_LOCAL, I_GAMMA_INV_T, I_NEIGHBORS, I_INIT, I_ACTIVE, I_ACTIVE_CAND, I_AROUND, \
    I_AROUND_CAND, I_RFF_M, I_RFF_POINTS, I_PROJECT, I_EXACT, I_ADAM, I_KERNEL = range(16)
N_IPARAMS = 16

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


@njit(void(_vec, _vec, _vec, _vec, float64, int64), cache=True)
def local_step(x, direction, m1, m2, eta, t):
    """x <- x - eta * direction (plain step, t < 0) or an Adam step (t >= 0: local step index, moments m1, m2).

    Adam as optax's defaults (b1 = 0.9, b2 = 0.999, eps = 1e-8) with bias correction; the moments are reset
    by the caller at the start of every local run (a fresh optimizer per round, [uncertain] in the code).
    """
    if t < 0:
        for a in range(x.shape[0]):
            x[a] -= eta * direction[a]
        return
    c1 = 1.0 - ADAM_BETA1 ** (t + 1)
    c2 = 1.0 - ADAM_BETA2 ** (t + 1)
    for a in range(x.shape[0]):
        m1[a] = ADAM_BETA1 * m1[a] + (1.0 - ADAM_BETA1) * direction[a]
        m2[a] = ADAM_BETA2 * m2[a] + (1.0 - ADAM_BETA2) * direction[a] * direction[a]
        x[a] -= eta * (m1[a] / c1) / (np.sqrt(m2[a] / c2) + ADAM_EPS)
# float parameters (fparams)
F_ETA, F_GAMMA, F_LENGTHSCALE, F_SIGNAL, F_NOISE, F_INIT_BOX, F_ACTIVE_BOX, F_RFF_LENGTHSCALE, F_RFF_NOISE, \
    F_FSTAR = range(10)


_SELECT_MAX_VARIANCE_SIG = void(RngType, int64, _mat, _mat, int64, float64, float64, _vec, float64, int64, int64, boolean, _vec, _vec,
                                _vec, _mat, _vec)


@njit(_SELECT_MAX_VARIANCE_SIG, cache=True)
def select_max_variance(rng, kind, Xn, Lf, n, lengthscale, signal_var, center, box, n_candidates, n_pick, project,
                        cand, kx, col, best_pts, best_var):
    """Write into best_pts[:n_pick] the candidates of largest posterior gradient variance.

    Candidates are uniform in center +- box (clipped to [0, 1]^d when ``project``); the GP is the one
    whose factor Lf was fitted on Xn[:n].
    """
    d = center.shape[0]
    for p in range(n_pick):
        best_var[p] = -np.inf
    for c in range(n_candidates):
        for a in range(d):
            cand[a] = center[a] + box * (2.0 * rng.random() - 1.0)
        project_box(cand, project)
        v = gp_gradient_variance(kind, Xn, Lf, n, lengthscale, signal_var, cand, kx, col)
        # insert into the sorted (descending) list of the best n_pick
        p = n_pick - 1
        if v <= best_var[p]:
            continue
        while p > 0 and best_var[p - 1] < v:
            best_var[p] = best_var[p - 1]
            for a in range(d):
                best_pts[p, a] = best_pts[p - 1, a]
            p -= 1
        best_var[p] = v
        for a in range(d):
            best_pts[p, a] = cand[a]


_FZOOS_KERNEL_SIG = int64(ClientValueType, ClientValueType, ClientGradType, _vec, _vec, _vec, _ivec, _vec, RngType, _t3, _mat,
                          _ivec, _vec, _mat, _vec, _vec)


@njit(_FZOOS_KERNEL_SIG, cache=True)
def fzoos_kernel(value, measure, grad, data, x0, x_star, ip, fp, rng, HX, Hy, Hn, queries, records, x_out, info):
    """Run FZooS; return the number of record rows (one per round start, plus the final point).

    Round r (spec B.3): each client i starts from x_r, queries f_i(x_r), then for t = 1..T fits its GP on
    its ``n_neighbors`` nearest queries and steps
        x <- x - eta [grad mu_i(x) + gamma_t (grad muhat_r(x) - grad muhat_r^(i)(x))],
    projects onto [0, 1]^d, queries f_i(x) and, for t < T, ``n_active`` points of largest gradient variance
    among uniform candidates in x +- active_box. The server averages the final local iterates; each
    client then queries ``n_around`` max-variance points around x_{r+1} (box of half-width
    mean|x_{r+1} - x_{r,T}^(i)|/2), refits its RFF weights on its ``rff_points`` nearest queries, and the
    server averages the weights. gamma_t = gamma or gamma/(t+1). Corrections (``ip[I_CORRECTION]``):
    0 none, 1 RFF (FZooS; from round 1, when weights exist), 2 exact grad F - grad f_i (every round).
    ``ip[I_EXACT]`` replaces grad mu_i by grad f_i and spends no query (the first-order counterpart).
    ``info`` receives [rows, status, stop_round].
    """
    correction = ip[I_CORRECTION]
    rounds = ip[I_ROUNDS]
    T = ip[I_LOCAL]
    gamma_inv_t = ip[I_GAMMA_INV_T] != 0
    n_neighbors = ip[I_NEIGHBORS]
    n_active = ip[I_ACTIVE]
    n_around = ip[I_AROUND]
    M = ip[I_RFF_M]
    rff_points = ip[I_RFF_POINTS]
    project = ip[I_PROJECT] != 0
    exact = ip[I_EXACT] != 0
    eta = fp[F_ETA]
    gamma = fp[F_GAMMA]
    ls = fp[F_LENGTHSCALE]
    s2 = fp[F_SIGNAL]
    noise = fp[F_NOISE]
    F_star = fp[F_FSTAR]
    N = int(data[1])
    d = x0.shape[0]
    cap = HX.shape[1]
    nn_max = max(min(n_neighbors, cap), 1)
    rff_max = max(min(rff_points, cap), 1)
    n_pick_max = max(n_active, n_around, 1)
    # scratch, allocated once
    dist = np.empty(cap)
    idx = np.empty(cap, dtype=np.int64)
    Lf = np.empty((nn_max, nn_max))
    alpha = np.empty(nn_max)
    Xn = np.empty((nn_max, d))
    col = np.empty(nn_max)
    kx = np.empty(nn_max)
    W = np.empty((M, d))
    bvec = np.empty(M)
    Phi = np.empty(rff_max * M)
    G = np.empty(rff_max * rff_max)
    coef = np.empty(rff_max)
    w_client = np.zeros((N, M))
    w_global = np.zeros(M)
    w_diff = np.empty(M)
    x = np.empty(d)
    x_r = np.empty(d)
    finals = np.empty((N, d))
    g_mu = np.empty(d)
    g_true = np.empty(d)
    g_corr = np.empty(d)
    g_tmp = np.empty(d)
    gF = np.empty(d)
    cand = np.empty(d)
    step_dir = np.empty(d)
    m1 = np.zeros(d)
    m2 = np.zeros(d)
    adam = ip[I_ADAM] != 0
    kind = ip[I_KERNEL]
    best_pts = np.empty((n_pick_max, d))
    best_var = np.empty(n_pick_max)
    # the shared RFF draw: one stream for every client (spec B.9: weights are averaged, so W, b must agree)
    for p in range(M):
        for a in range(d):
            W[p, a] = rng.standard_normal() / fp[F_RFF_LENGTHSCALE]
        bvec[p] = 2.0 * np.pi * rng.random()
    for i in range(N):
        Hn[i] = 0
        queries[i] = 0.0
    for a in range(d):
        x_r[a] = x0[a]
    if not exact:
        for i in range(N):
            for j in range(ip[I_INIT]):
                for a in range(d):
                    cand[a] = x0[a] + fp[F_INIT_BOX] * (2.0 * rng.random() - 1.0)
                project_box(cand, project)
                query(value, i, cand, data, HX, Hy, Hn, queries)
    have_rff = False
    floats_up = 0.0
    floats_down = 0.0
    cos_mean = np.nan
    err_mean = np.nan
    rows = 0
    status = STATUS_BUDGET
    stop_round = rounds
    for r in range(rounds + 1):
        total_q = 0.0
        for i in range(N):
            total_q += queries[i]
        record_row(measure, grad, data, N, x_r, x_star, F_star, total_q, floats_up, floats_down, cos_mean,
                   err_mean, g_tmp, gF, records, rows)
        records[rows, 0] = r
        rows += 1
        if r == rounds:
            break
        floats_down += N * (d + (M if have_rff else 0))
        cos_sum = 0.0
        err_sum = 0.0
        n_meas = 0.0
        for i in range(N):
            for a in range(d):
                x[a] = x_r[a]
            if not exact:
                query(value, i, x, data, HX, Hy, Hn, queries)
            if have_rff:
                for p in range(M):
                    w_diff[p] = w_global[p] - w_client[i, p]
            m1[:] = 0.0
            m2[:] = 0.0
            for t in range(T):
                gamma_t = gamma / (t + 1.0) if gamma_inv_t else gamma
                n_fit = 0
                sd = 1.0
                if exact:
                    grad(i, x, data, g_mu)
                else:
                    n_fit = nearest(HX[i], Hn[i], x, nn_max, dist, idx)
                    sd = gp_fit(kind, HX[i], Hy[i], idx, n_fit, ls, s2, noise, Lf, alpha, Xn)
                    gp_mean_gradient(kind, Xn, n_fit, alpha, sd, ls, s2, x, g_mu)
                    grad(i, x, data, g_true)
                    gt = np.sqrt(dot(g_true, g_true))
                    gm = np.sqrt(dot(g_mu, g_mu))
                    if gt > 0.0 and gm > 0.0:
                        cos_sum += dot(g_mu, g_true) / (gt * gm)
                        diff = 0.0
                        for a in range(d):
                            diff += (g_mu[a] - g_true[a]) ** 2
                        err_sum += np.sqrt(diff) / gt
                        n_meas += 1.0
                g_corr[:] = 0.0
                if correction == CORR_RFF and have_rff:
                    rff_gradient(W, bvec, w_diff, x, g_corr)
                elif correction == CORR_EXACT:
                    global_gradient(grad, N, x, data, g_tmp, g_corr)
                    grad(i, x, data, g_tmp)
                    for a in range(d):
                        g_corr[a] -= g_tmp[a]
                for a in range(d):
                    step_dir[a] = g_mu[a] + gamma_t * g_corr[a]
                local_step(x, step_dir, m1, m2, eta, t if adam else -1)
                project_box(x, project)
                if exact:
                    continue
                query(value, i, x, data, HX, Hy, Hn, queries)
                if t < T - 1 and n_active > 0:
                    select_max_variance(rng, kind, Xn, Lf, n_fit, ls, s2, x, fp[F_ACTIVE_BOX], ip[I_ACTIVE_CAND],
                                        n_active, project, cand, kx, col, best_pts, best_var)
                    for p in range(n_active):
                        query(value, i, best_pts[p], data, HX, Hy, Hn, queries)
            for a in range(d):
                finals[i, a] = x[a]
        cos_mean = cos_sum / n_meas if n_meas > 0 else np.nan
        err_mean = err_sum / n_meas if n_meas > 0 else np.nan
        # server: FedAvg of the local iterates (eta_g = 1)
        for a in range(d):
            s = 0.0
            for i in range(N):
                s += finals[i, a]
            x_r[a] = s / N
        floats_up += N * d
        bad = health(x_r)
        if bad != STATUS_BUDGET:
            status = bad
            stop_round = r + 1
            records[rows, :] = np.nan
            records[rows, 0] = r + 1
            rows += 1
            break
        if correction == CORR_RFF and not exact:
            for i in range(N):
                if n_around > 0:
                    radius = 0.0
                    for a in range(d):
                        radius += abs(x_r[a] - finals[i, a])
                    radius = radius / (2.0 * d)
                    if radius <= 0.0:
                        radius = fp[F_ACTIVE_BOX]
                    n_fit = nearest(HX[i], Hn[i], x_r, nn_max, dist, idx)
                    gp_fit(kind, HX[i], Hy[i], idx, n_fit, ls, s2, noise, Lf, alpha, Xn)
                    select_max_variance(rng, kind, Xn, Lf, n_fit, ls, s2, x_r, radius, ip[I_AROUND_CAND], n_around,
                                        project, cand, kx, col, best_pts, best_var)
                    for p in range(n_around):
                        query(value, i, best_pts[p], data, HX, Hy, Hn, queries)
                n_fit = nearest(HX[i], Hn[i], x_r, rff_max, dist, idx)
                rff_fit(HX[i], Hy[i], idx, n_fit, W, bvec, fp[F_RFF_NOISE], Phi, G, coef, w_client[i])
            for p in range(M):
                s = 0.0
                for i in range(N):
                    s += w_client[i, p]
                w_global[p] = s / N
            floats_up += N * M
            have_rff = True
    for a in range(d):
        x_out[a] = x_r[a]
    info[0] = rows
    info[1] = status
    info[2] = stop_round
    return rows


_ZO_ESTIMATE_SIG = void(RngType, ClientValueType, int64, _vec, _vec, float64, float64, int64, float64, boolean, _mat, _vec,
                        _vec, _vec)


@njit(_ZO_ESTIMATE_SIG, cache=True)
def zo_estimate(rng, value, i, x, data, f_x, mu, q, scale, orthonormal, S, y, queries, out):
    """Write ghat_i(x) = scale sum_j (f_i(x + mu s_j) - f_i(x))/mu s_j into out (q queries, counted).

    Directions s_j: Gaussian, orthonormalized by Gram-Schmidt in blocks of d (q may exceed d), unit norm.
    """
    d = x.shape[0]
    for j in range(q):
        for a in range(d):
            S[j, a] = rng.standard_normal()
        if orthonormal:
            start = (j // d) * d
            for p in range(start, j):
                proj = 0.0
                for a in range(d):
                    proj += S[j, a] * S[p, a]
                for a in range(d):
                    S[j, a] -= proj * S[p, a]
        nrm = np.sqrt(dot(S[j], S[j]))
        for a in range(d):
            S[j, a] /= nrm
    out[:] = 0.0
    for j in range(q):
        for a in range(d):
            y[a] = x[a] + mu * S[j, a]
        fy = value(i, y, data)
        queries[i] += 1.0
        c = scale * (fy - f_x) / mu
        for a in range(d):
            out[a] += c * S[j, a]


_FEDZO_KERNEL_SIG = int64(int64, ClientValueType, ClientValueType, ClientGradType, _vec, _vec, _vec, float64, int64, int64,
                          float64, float64, int64, float64, float64, boolean, boolean, boolean, RngType, _vec, _mat, _vec, _ivec)


@njit(_FEDZO_KERNEL_SIG, cache=True)
def fedzo_kernel(method, value, measure, grad, data, x0, x_star, F_star, rounds, local_steps, eta, mu, q, scale,
                 mu_prox, project, exact_gradients, adam, rng, queries, records, x_out, info):
    """Run FedZO (0), FedProx-ZO (1), SCAFFOLD-ZO type I (2) or type II (3); return the rows written.

    Local step at client i from x_r: x <- x - eta [ghat_i(x) + mu_prox (x - x_r) (FedProx) - c_i + c
    (SCAFFOLD)], projected onto [0, 1]^d when ``project``. ghat_i uses q queries around x plus f_i(x),
    which is queried once at x_r and then at every new iterate (the centre value is reused). SCAFFOLD type I:
    c_i = ghat_i(x_r) (fresh, counted); type II: c_i = (x_r - x_{r,T}^(i))/(T eta) from the previous round.
    ``exact_gradients``: ghat_i = grad f_i, no queries. ``adam``: Adam local steps (see :func:`local_step`).
    ``info`` receives [rows, status, stop_round].
    """
    N = int(data[1])
    d = x0.shape[0]
    S = np.empty((max(q, 1), d))
    y = np.empty(d)
    x = np.empty(d)
    x_r = np.empty(d)
    g = np.empty(d)
    g_tmp = np.empty(d)
    gF = np.empty(d)
    finals = np.empty((N, d))
    c_client = np.zeros((N, d))
    c_global = np.zeros(d)
    step_dir = np.empty(d)
    m1 = np.zeros(d)
    m2 = np.zeros(d)
    for i in range(N):
        queries[i] = 0.0
    for a in range(d):
        x_r[a] = x0[a]
    floats_up = 0.0
    floats_down = 0.0
    rows = 0
    status = STATUS_BUDGET
    stop_round = rounds
    per_round = 2.0 * d if method >= SCAFFOLD_I else 1.0 * d
    for r in range(rounds + 1):
        total_q = 0.0
        for i in range(N):
            total_q += queries[i]
        record_row(measure, grad, data, N, x_r, x_star, F_star, total_q, floats_up, floats_down, np.nan, np.nan,
                   g_tmp, gF, records, rows)
        records[rows, 0] = r
        rows += 1
        if r == rounds:
            break
        floats_down += N * per_round
        if method == SCAFFOLD_I:
            c_global[:] = 0.0
            for i in range(N):
                if exact_gradients:
                    grad(i, x_r, data, g)
                else:
                    f_r = value(i, x_r, data)
                    queries[i] += 1.0
                    zo_estimate(rng, value, i, x_r, data, f_r, mu, q, scale, True, S, y, queries, g)
                for a in range(d):
                    c_client[i, a] = g[a]
                    c_global[a] += g[a] / N
        for i in range(N):
            for a in range(d):
                x[a] = x_r[a]
            f_x = 0.0
            if not exact_gradients:
                f_x = value(i, x, data)
                queries[i] += 1.0
            m1[:] = 0.0
            m2[:] = 0.0
            for t in range(local_steps):
                if exact_gradients:
                    grad(i, x, data, g)
                else:
                    zo_estimate(rng, value, i, x, data, f_x, mu, q, scale, True, S, y, queries, g)
                for a in range(d):
                    step = g[a]
                    if method == FEDPROX:
                        step += mu_prox * (x[a] - x_r[a])
                    elif method >= SCAFFOLD_I:
                        step += c_global[a] - c_client[i, a]
                    step_dir[a] = step
                local_step(x, step_dir, m1, m2, eta, t if adam else -1)
                project_box(x, project)
                if not exact_gradients:
                    f_x = value(i, x, data)
                    queries[i] += 1.0
            for a in range(d):
                finals[i, a] = x[a]
        for a in range(d):
            s = 0.0
            for i in range(N):
                s += finals[i, a]
            new = s / N
            x_out[a] = new
        if method == SCAFFOLD_II:
            c_global[:] = 0.0
            for i in range(N):
                for a in range(d):
                    c_client[i, a] = (x_r[a] - finals[i, a]) / (local_steps * eta)
                    c_global[a] += c_client[i, a] / N
        for a in range(d):
            x_r[a] = x_out[a]
        floats_up += N * per_round
        bad = health(x_r)
        if bad != STATUS_BUDGET:
            status = bad
            stop_round = r + 1
            records[rows, :] = np.nan
            records[rows, 0] = r + 1
            rows += 1
            break
    for a in range(d):
        x_out[a] = x_r[a]
    info[0] = rows
    info[1] = status
    info[2] = stop_round
    return rows
