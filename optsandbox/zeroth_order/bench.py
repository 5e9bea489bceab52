"""Benchmark cases: the zeroth-order kernels against plain NumPy versions of the same updates.

* ZO-RankSGD: T iterations (m Gaussian perturbations, m evaluations, ranking, DAG weights, step, and the
  ||grad f|| measurement the kernel records) on zo_quadratic.
* FedZO: R rounds of N clients x T local two-point steps with q orthonormal directions.
* FZooS surrogate update versus history length n: select the 150 nearest queries (O(n d)), fit the GP
  (O(150^3) Cholesky), evaluate the posterior-mean gradient. The spec's complexity is O(n d + n_nn^3): the
  cost must grow at most linearly in n once n exceeds n_nn.
* FZooS RFF fit: n x n form of the ridge solve with M features.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from ..api import Budget, BenchCase
from . import fed_algorithms as fa
from . import problems
from . import surrogates as S
from .rank_algorithms import run_zo_ranksgd


def _numpy_ranksgd(a, xc, x0, eta, mu, m, k, T, seed):
    """ZO-RankSGD as a NumPy user writes it (vectorized over the m points), with the same measurement."""
    rng = np.random.default_rng(seed)
    x = x0.copy()
    E = k * (k - 1) / 2 + k * (m - k)
    w_top = 2.0 * np.arange(k) - (m - 1.0)
    norms = np.empty(T)
    for t in range(T):
        norms[t] = np.linalg.norm(a * (x - xc))
        xi = rng.standard_normal((m, x.size))
        Y = x + mu * xi
        f = 0.5 * ((Y - xc) ** 2) @ a
        order = np.argsort(f, kind="stable")
        w = np.full(m, float(k))
        w[order[:k]] = w_top
        x -= eta * (w @ xi) / E
    return x, norms.mean()


def _numpy_fedzo(c1, c2, x0, rounds, T, eta, mu, q, seed):
    """FedZO on fed_quadratic: q orthonormal directions (QR), (d/q) scale, FedAvg, projection."""
    rng = np.random.default_rng(seed)
    N, d = c1.shape

    def f(i, x):
        p = 20.0 * np.clip(x, 0.0, 1.0) - 10.0
        return 0.1 * (c1[i] @ (p * p) + c2[i] @ p + 1.0) / d

    x = x0.copy()
    for _ in range(rounds):
        finals = np.empty((N, d))
        for i in range(N):
            z = x.copy()
            fz = f(i, z)
            for _ in range(T):
                Q, _ = np.linalg.qr(rng.standard_normal((d, q)))
                vals = np.array([f(i, z + mu * Q[:, j]) for j in range(q)])
                g = (d / q) * Q @ ((vals - fz) / mu)
                z = np.clip(z - eta * g, 0.0, 1.0)
                fz = f(i, z)
            finals[i] = z
        x = finals.mean(axis=0)
    return x


def _numpy_surrogate(H, y, x, k, ls, s2, noise):
    """One GP surrogate gradient: k nearest by argpartition, Cholesky (scipy), posterior-mean gradient."""
    dist = ((H - x) ** 2).sum(axis=1)
    idx = np.argpartition(dist, k - 1)[:k] if len(dist) > k else np.arange(len(dist))
    X, yy = H[idx], y[idx]
    m0, sd = yy.mean(), max(yy.std(), 1e-12)
    sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    K = s2 * np.exp(-sq / (2 * ls * ls)) + noise * np.eye(len(idx))
    alpha = cho_solve(cho_factor(K, lower=True), (yy - m0) / sd)
    kx = s2 * np.exp(-((x - X) ** 2).sum(-1) / (2 * ls * ls))
    return -sd * ((alpha * kx) @ (x - X)) / (ls * ls)


def _numba_surrogate(H, y, x, k, ls, s2, noise, bufs):
    dist, idx, Lf, alpha, Xn, g = bufs
    n = S.nearest(H, H.shape[0], x, k, dist, idx)
    sd = S.gp_fit(S.SE, H, y, idx, n, ls, s2, noise, Lf, alpha, Xn)
    S.gp_mean_gradient(S.SE, Xn, n, alpha, sd, ls, s2, x, g)
    return g


def _numpy_rff_fit(X, y, W, b, noise):
    M = W.shape[0]
    Phi = np.sqrt(2.0 / M) * np.cos(X @ W.T + b)
    sd = y.std()
    c = np.linalg.solve(Phi @ Phi.T + noise * np.eye(len(y)), (y - y.mean()) / sd)
    return sd * (Phi.T @ c)


def cases() -> list[BenchCase]:
    out = []
    # ZO-RankSGD
    d, m, T = 50, 10, 2000
    inst = problems.build_zo_quadratic({"dim": d, "init_radius": 0.0}, np.random.default_rng(0))
    a, xc = inst.data[3:3 + d].copy(), inst.data[3 + d:3 + 2 * d].copy()
    params = dict(m=m, k=m, mu=1e-5, eta0=0.0, schedule="constant", horizon=0, rank_noise=0.0,
                  code_weights=False)
    eta = run_zo_ranksgd(inst, params, Budget(T, 100), np.random.default_rng(0)).events["eta0"] / np.sqrt(T)
    out.append(BenchCase(
        f"zo_ranksgd d={d} m={m}",
        lambda: run_zo_ranksgd(inst, params, Budget(T, 100), np.random.default_rng(1)),
        lambda: _numpy_ranksgd(a, xc, inst.reference["x0"], eta, 1e-5, m, m, T, 1),
        f"{T} iterations, {m} evaluations + ranking + ||grad f|| each"))
    # FedZO
    fed = problems.build_fed_quadratic({"dim": 10, "clients": 5, "div": 1.0, "target_gap": 1e-3},
                                       np.random.default_rng(0))
    Nc, dd = 5, 10
    c1 = fed.data[2:2 + Nc * dd].reshape(Nc, dd).copy()
    c2 = fed.data[2 + Nc * dd:2 + 2 * Nc * dd].reshape(Nc, dd).copy()
    pz = dict(local_steps=10, eta=0.02, q=10, mu=0.01, fedzo_scale="paper", project=True, exact_gradients=False,
              local_opt="sgd")
    out.append(BenchCase(
        "fedzo d=10 N=5 T=10 q=10",
        lambda: fa.run_fedzo_raw(fed, pz, fa.FEDZO_METHODS["fedzo"], 20, 1),
        lambda: _numpy_fedzo(c1, c2, fed.reference["x0"], 20, 10, 0.02, 0.01, 10, 1),
        "20 rounds x 5 clients x 10 local steps x 11 queries"))
    # FZooS surrogate update versus history length
    rng = np.random.default_rng(0)
    k, ls, s2, noise, reps = 150, 0.5, 1.0, 1e-6, 10
    for n in (150, 600, 2400):
        H = np.ascontiguousarray(rng.uniform(size=(n, dd)))
        y = np.sin(3 * H).sum(axis=1)
        xs = rng.uniform(size=(reps, dd))
        kk = min(k, n)
        bufs = (np.empty(n), np.empty(n, dtype=np.int64), np.empty((kk, kk)), np.empty(kk), np.empty((kk, dd)),
                np.empty(dd))
        out.append(BenchCase(
            f"fzoos surrogate n={n}",
            lambda H=H, y=y, xs=xs, kk=kk, bufs=bufs: [_numba_surrogate(H, y, x, kk, ls, s2, noise, bufs)
                                                       for x in xs],
            lambda H=H, y=y, xs=xs, kk=kk: [_numpy_surrogate(H, y, x, kk, ls, s2, noise) for x in xs],
            f"{reps} GP gradient surrogates: {kk} nearest of {n} queries, d={dd}"))
    # RFF fit
    npts, M = 200, 1000
    X = np.ascontiguousarray(rng.uniform(size=(npts, dd)))
    yv = np.cos(2 * X).sum(axis=1)
    W = np.ascontiguousarray(rng.standard_normal((M, dd)))
    b = rng.uniform(0, 2 * np.pi, M)
    idx = np.arange(npts, dtype=np.int64)
    rb = (np.empty(npts * M), np.empty(npts * npts), np.empty(npts), np.empty(M))
    out.append(BenchCase(
        f"fzoos rff fit n={npts} M={M}",
        lambda: S.rff_fit(X, yv, idx, npts, W, b, 1e-4, *rb),
        lambda: _numpy_rff_fit(X, yv, W, b, 1e-4),
        f"ridge weights in the n x n form, n={npts}, M={M}, d={dd}"))
    return out
