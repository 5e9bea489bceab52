"""Jitted surrogate pieces of FZooS: the client GP gradient surrogate and the shared RFF surrogate.

Everything works in preallocated buffers (no allocation per call), with an in-place Cholesky factorization
and triangular solves written out, since ``np.linalg.cholesky`` returns a new array.

GP (spec B.2 (i)) with a stationary kernel of r = ||x - x'||, ``kind`` SE (0) or Matern-5/2 (1):

    SE:          k = s^2 exp(-r^2/(2 l^2)),               grad_x k = -(k/l^2) (x - x'),  grad grad' k(x, x) = s^2/l^2 I
    Matern-5/2:  k = s^2 (1 + a r + a^2 r^2/3) e^{-a r},  grad_x k = -(s^2 a^2/3)(1 + a r) e^{-a r} (x - x'),
                 grad grad' k(x, x) = s^2 a^2/3 I,  a = sqrt(5)/l.

Fitted on n points with y standardized (mean m_0, scale sd): alpha = (K + sigma_n^2 I)^-1 (y - m_0)/sd and
grad mu(x) = sd * sum_j alpha_j grad_x k(x, x_j), the exact posterior-mean gradient. The posterior covariance
of grad f at x is grad grad' k(x, x) - J^T (K + sigma_n^2 I)^-1 J with J_{j,:} = grad_x k(x, x_j); its trace
picks the active queries.

RFF (spec B.2 (ii)): phi(x) = sqrt(2/M) cos(W x + b), W rows ~ N(0, l_rff^-2 I), b ~ U[0, 2 pi], one draw
shared by all clients. Weights w = Phi^T (Phi Phi^T + sigma^2 I)^-1 (y - mean y) (the n x n form, never
M x M); grad muhat(x) = -sqrt(2/M) W^T (sin(W x + b) * w).
"""
import numpy as np
from numba import boolean, float64, int64, njit, void

_vec = float64[::1]
_mat = float64[:, ::1]
_ivec = int64[::1]


@njit(float64(_vec, _vec), cache=True)
def dot(a, b):
    """Return sum_j a_j b_j (a loop: no temporary array, unlike np.sum(a * b))."""
    s = 0.0
    for j in range(a.shape[0]):
        s += a[j] * b[j]
    return s


SE = 0
MATERN52 = 1


@njit(float64(int64, float64, float64, float64), cache=True)
def kernel_value(kind, r2, lengthscale, signal_var):
    """Return k(r) for the squared distance r2."""
    if kind == MATERN52:
        ar = np.sqrt(5.0 * r2) / lengthscale
        return signal_var * (1.0 + ar + ar * ar / 3.0) * np.exp(-ar)
    return signal_var * np.exp(-0.5 * r2 / (lengthscale * lengthscale))


@njit(float64(int64, float64, float64, float64), cache=True)
def kernel_grad_coef(kind, r2, lengthscale, signal_var):
    """Return c(r) with grad_x k(x, x') = -c(r) (x - x')."""
    if kind == MATERN52:
        a2 = 5.0 / (lengthscale * lengthscale)
        ar = np.sqrt(a2 * r2)
        return signal_var * a2 / 3.0 * (1.0 + ar) * np.exp(-ar)
    inv_l2 = 1.0 / (lengthscale * lengthscale)
    return signal_var * np.exp(-0.5 * r2 * inv_l2) * inv_l2


@njit(float64(int64, float64, float64), cache=True)
def prior_gradient_variance(kind, lengthscale, signal_var):
    """Return the diagonal of grad grad' k(x, x) (the prior variance of each partial derivative)."""
    if kind == MATERN52:
        return signal_var * 5.0 / (3.0 * lengthscale * lengthscale)
    return signal_var / (lengthscale * lengthscale)


@njit(boolean(_mat, int64), cache=True)
def cholesky_inplace(A, n):
    """Overwrite the leading n x n block of A with its lower Cholesky factor; False if not positive."""
    for j in range(n):
        s = A[j, j]
        for p in range(j):
            s -= A[j, p] * A[j, p]
        if s <= 0.0 or not np.isfinite(s):
            return False
        ljj = np.sqrt(s)
        A[j, j] = ljj
        for i in range(j + 1, n):
            s = A[i, j]
            for p in range(j):
                s -= A[i, p] * A[j, p]
            A[i, j] = s / ljj
    return True


@njit(void(_mat, int64, _vec), cache=True)
def solve_lower(Lf, n, v):
    """Overwrite v[:n] with L^-1 v."""
    for i in range(n):
        s = v[i]
        for p in range(i):
            s -= Lf[i, p] * v[p]
        v[i] = s / Lf[i, i]


@njit(void(_mat, int64, _vec), cache=True)
def solve_upper_t(Lf, n, v):
    """Overwrite v[:n] with L^-T v."""
    for i in range(n - 1, -1, -1):
        s = v[i]
        for p in range(i + 1, n):
            s -= Lf[p, i] * v[p]
        v[i] = s / Lf[i, i]


@njit(int64(_mat, int64, _vec, int64, _vec, _ivec), cache=True)
def nearest(points, n, x, k, dist, idx):
    """Write into idx[:k'] the indices of the k' = min(k, n) points nearest to x; return k'.

    Squared distances go to dist[:n]; a quickselect on idx puts the k' smallest first (order within
    them unspecified). O(n d) expected, no allocation.
    """
    d = x.shape[0]
    for j in range(n):
        s = 0.0
        for a in range(d):
            t = points[j, a] - x[a]
            s += t * t
        dist[j] = s
        idx[j] = j
    if n <= k:
        return n
    lo = 0
    hi = n - 1
    while lo < hi:
        pivot = dist[idx[(lo + hi) // 2]]
        i = lo
        j = hi
        while i <= j:
            while dist[idx[i]] < pivot:
                i += 1
            while dist[idx[j]] > pivot:
                j -= 1
            if i <= j:
                tmp = idx[i]
                idx[i] = idx[j]
                idx[j] = tmp
                i += 1
                j -= 1
        if k - 1 <= j:
            hi = j
        elif k - 1 >= i:
            lo = i
        else:
            break
    return k


_GP_FIT_SIG = float64(int64, _mat, _vec, _ivec, int64, float64, float64, float64, _mat, _vec, _mat)


@njit(_GP_FIT_SIG, cache=True)
def gp_fit(kind, points, values, idx, n, lengthscale, signal_var, noise_var, Lf, alpha, Xn):
    """Fit the GP (kernel ``kind``) on the n points ``idx[:n]``; return the scale sd of the standardized values.

    Writes the selected points to Xn[:n], the Cholesky factor of K + noise_var I to Lf and
    alpha = (K + noise_var I)^-1 (y - mean)/sd to alpha[:n]. If the factorization fails the jitter is
    raised tenfold until it succeeds (at most 12 times).
    """
    d = points.shape[1]
    mean = 0.0
    for j in range(n):
        mean += values[idx[j]]
    mean /= n
    var = 0.0
    for j in range(n):
        var += (values[idx[j]] - mean) ** 2
    sd = np.sqrt(var / n)
    if sd < 1e-12 * max(1.0, abs(mean)):
        sd = 1e-12 * max(1.0, abs(mean))  # all values equal: keep the floor, never divide by ~0
    for j in range(n):
        for a in range(d):
            Xn[j, a] = points[idx[j], a]
    jitter = noise_var
    for attempt in range(12):
        for i in range(n):
            for j in range(i + 1):
                s = 0.0
                for a in range(d):
                    t = Xn[i, a] - Xn[j, a]
                    s += t * t
                kij = kernel_value(kind, s, lengthscale, signal_var)
                Lf[i, j] = kij
                Lf[j, i] = kij
            Lf[i, i] += jitter
        if cholesky_inplace(Lf, n):
            break
        jitter = max(jitter * 10.0, 1e-10 * signal_var)
    for j in range(n):
        alpha[j] = (values[idx[j]] - mean) / sd
    solve_lower(Lf, n, alpha)
    solve_upper_t(Lf, n, alpha)
    return sd


@njit(void(int64, _mat, int64, _vec, float64, float64, float64, _vec, _vec), cache=True)
def gp_mean_gradient(kind, Xn, n, alpha, sd, lengthscale, signal_var, x, out):
    """Write grad mu(x) = sd * sum_j alpha_j grad_x k(x, x_j) into out (the exact posterior-mean gradient)."""
    d = x.shape[0]
    out[:] = 0.0
    for j in range(n):
        s = 0.0
        for a in range(d):
            t = x[a] - Xn[j, a]
            s += t * t
        c = -sd * alpha[j] * kernel_grad_coef(kind, s, lengthscale, signal_var)
        for a in range(d):
            out[a] += c * (x[a] - Xn[j, a])


@njit(float64(int64, _mat, _mat, int64, float64, float64, _vec, _vec, _vec), cache=True)
def gp_gradient_variance(kind, Xn, Lf, n, lengthscale, signal_var, x, kx, col):
    """Return the trace of the posterior covariance of grad f at x (standardized units).

    tr[grad grad' k(x, x) - J^T (K + sigma_n^2 I)^-1 J] = d v0 - sum_a ||L^-1 J[:, a]||^2, with
    J[j, a] = -c(r_j) (x_a - x_ja). ``kx`` and ``col`` (n) are scratch. O(n d + d n^2/2).
    """
    d = x.shape[0]
    for j in range(n):
        s = 0.0
        for b in range(d):
            t = x[b] - Xn[j, b]
            s += t * t
        kx[j] = kernel_grad_coef(kind, s, lengthscale, signal_var)
    total = d * prior_gradient_variance(kind, lengthscale, signal_var)
    for a in range(d):
        for j in range(n):
            col[j] = -(x[a] - Xn[j, a]) * kx[j]
        solve_lower(Lf, n, col)
        for j in range(n):
            total -= col[j] * col[j]
    return total


@njit(void(_mat, _vec, _vec, _vec), cache=True)
def rff_features(W, b, x, out):
    """Write phi(x) = sqrt(2/M) cos(W x + b) into out (M)."""
    M = W.shape[0]
    d = W.shape[1]
    c = np.sqrt(2.0 / M)
    for p in range(M):
        s = b[p]
        for a in range(d):
            s += W[p, a] * x[a]
        out[p] = c * np.cos(s)


@njit(void(_mat, _vec, _vec, _vec, _vec), cache=True)
def rff_gradient(W, b, w, x, out):
    """Write grad muhat(x) = -sqrt(2/M) W^T (sin(W x + b) * w) into out (d)."""
    M = W.shape[0]
    d = W.shape[1]
    c = np.sqrt(2.0 / M)
    out[:] = 0.0
    for p in range(M):
        if w[p] == 0.0:
            continue
        s = b[p]
        for a in range(d):
            s += W[p, a] * x[a]
        coef = -c * np.sin(s) * w[p]
        for a in range(d):
            out[a] += coef * W[p, a]


@njit(void(_mat, _vec, _ivec, int64, _mat, _vec, float64, _vec, _vec, _vec, _vec), cache=True)
def rff_fit(points, values, idx, n, W, b, noise_var, phi_buf, gram_buf, coef, w):
    """Fit the RFF weights on the points idx[:n]: w = Phi^T (Phi Phi^T + noise_var I)^-1 (y - mean) (n x n form).

    The values are standardized by their scale before the solve (noise_var is relative) and the weights
    scaled back, so w reproduces y - mean. ``phi_buf`` (>= M n), ``gram_buf`` (>= n^2) and ``coef`` (>= n)
    are flat scratch buffers. The features are stored transposed (M x n) so that the Gram matrix is built
    by rank-one row updates whose inner loop is an elementwise multiply-add (vectorized by LLVM without
    fastmath); measured on this machine that beats np.dot through BLAS (7x) and a dot-product loop (3x).
    """
    M = W.shape[0]
    d = W.shape[1]
    mean = 0.0
    for j in range(n):
        mean += values[idx[j]]
    mean /= n
    var = 0.0
    for j in range(n):
        var += (values[idx[j]] - mean) ** 2
    sd = max(np.sqrt(var / n), 1e-12 * max(1.0, abs(mean)))
    c = np.sqrt(2.0 / M)
    PhiT = phi_buf[:M * n].reshape((M, n))
    G = gram_buf[:n * n].reshape((n, n))
    for j in range(n):
        for p in range(M):
            s = b[p]
            for a in range(d):
                s += W[p, a] * points[idx[j], a]
            PhiT[p, j] = c * np.cos(s)
    jitter = noise_var
    for attempt in range(12):
        for i in range(n):
            for j in range(n):
                G[i, j] = 0.0
        for p in range(M):
            row = PhiT[p]
            for i in range(n):
                a_ip = row[i]
                Gi = G[i]
                for j in range(i + 1):
                    Gi[j] += a_ip * row[j]
        for i in range(n):
            for j in range(i):
                G[j, i] = G[i, j]
            G[i, i] += jitter
        if cholesky_inplace(G, n):
            break
        jitter = max(jitter * 10.0, 1e-10)
    for j in range(n):
        coef[j] = (values[idx[j]] - mean) / sd
    solve_lower(G, n, coef)
    solve_upper_t(G, n, coef)
    for p in range(M):
        s = 0.0
        row = PhiT[p]
        for j in range(n):
            s += row[j] * coef[j]
        w[p] = sd * s
