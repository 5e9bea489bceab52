"""FZooS and the federated ZO baselines: surrogate algebra, first-order reductions, query accounting, references."""
import numpy as np
import pytest
from scipy.optimize import minimize

from optsandbox import registry
from optsandbox.api import Budget, Instance
from optsandbox.zeroth_order import fed_algorithms as fa
from optsandbox.zeroth_order import oracles, problems
from optsandbox.zeroth_order import surrogates as S


def _defaults(name, **over):
    p = {q.name: q.default for q in registry.algorithm("zeroth_order", name).params}
    p.update(over)
    return p


def _fed(div=1.0, d=4, n=3, seed=0):
    return problems.build_fed_quadratic({"dim": d, "clients": n, "div": div, "target_gap": 1e-3},
                                        np.random.default_rng(seed))


def _se(A, B, ls, s2):
    return s2 * np.exp(-((A[:, None, :] - B[None, :, :]) ** 2).sum(-1) / (2 * ls * ls))


def _matern(A, B, ls, s2):
    ar = np.sqrt(5.0 * ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)) / ls
    return s2 * (1 + ar + ar * ar / 3) * np.exp(-ar)


def _kernel_gradient(kind, x, X, ls, s2):
    """Rows grad_x k(x, x_j), written from the kernel formulas (spec B.2)."""
    diff = x - X
    if kind == S.SE:
        return -(diff / ls ** 2) * _se(x[None], X, ls, s2)[0][:, None]
    a = np.sqrt(5.0) / ls
    ar = a * np.sqrt((diff ** 2).sum(1))
    return -(s2 * a * a / 3 * (1 + ar) * np.exp(-ar))[:, None] * diff


@pytest.mark.parametrize("kind", [S.SE, S.MATERN52])
def test_gp_surrogate_gradient_equals_the_analytic_posterior_mean_gradient(kind):
    kern = _se if kind == S.SE else _matern
    rng = np.random.default_rng(0)
    d, n_all, n, ls, s2, noise = 3, 30, 12, 0.4, 1.3, 1e-4
    P = rng.uniform(size=(n_all, d))
    y = np.sin(3 * P).sum(1) + P[:, 0] ** 2
    x = rng.uniform(size=d)
    idx, dist = np.zeros(n_all, np.int64), np.zeros(n_all)
    k = S.nearest(P, n_all, x, n, dist, idx)
    assert k == n and set(idx[:n]) == set(np.argsort(((P - x) ** 2).sum(1))[:n])
    Lf, alpha, Xn = np.zeros((n, n)), np.zeros(n), np.zeros((n, d))
    sd = S.gp_fit(kind, P, y, idx, n, ls, s2, noise, Lf, alpha, Xn)
    g = np.zeros(d)
    S.gp_mean_gradient(kind, Xn, n, alpha, sd, ls, s2, x, g)
    # plain NumPy posterior mean mu(z) = m0 + sd k(z, X) (K + noise I)^-1 (y - m0)/sd and its gradient
    X, yy = P[idx[:n]], y[idx[:n]]
    m0, s = yy.mean(), yy.std()
    a = np.linalg.solve(kern(X, X, ls, s2) + noise * np.eye(n), (yy - m0) / s)
    J = _kernel_gradient(kind, x, X, ls, s2)
    np.testing.assert_allclose(g, s * J.T @ a, rtol=1e-9, atol=1e-12)
    mu = lambda z: m0 + s * kern(z[None], X, ls, s2)[0] @ a  # noqa: E731
    fd = np.array([(mu(x + 1e-6 * e) - mu(x - 1e-6 * e)) / 2e-6 for e in np.eye(d)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # gradient posterior covariance trace: tr(grad grad' k(x, x)) - tr(J^T (K + noise I)^-1 J), where the
    # prior term is d s2/l^2 (SE) or d s2 a^2/3 = d s2 5/(3 l^2) (Matern-5/2)
    prior = s2 / ls ** 2 if kind == S.SE else s2 * 5 / (3 * ls ** 2)
    expected = d * prior - np.trace(J.T @ np.linalg.solve(kern(X, X, ls, s2) + noise * np.eye(n), J))
    got = S.gp_gradient_variance(kind, Xn, Lf, n, ls, s2, x, np.zeros(n), np.zeros(n))
    assert got == pytest.approx(expected, rel=1e-8)


def test_rff_surrogate_fit_gradient_and_kernel_approximation():
    rng = np.random.default_rng(1)
    d, M, n, ls = 3, 4000, 25, 0.8
    W = rng.standard_normal((M, d)) / ls
    b = rng.uniform(0, 2 * np.pi, M)
    P = rng.uniform(size=(n, d))
    y = np.cos(2 * P).sum(1)
    idx = np.arange(n, dtype=np.int64)
    w = np.zeros(M)
    S.rff_fit(P, y, idx, n, W, b, 1e-6, np.zeros(n * M), np.zeros(n * n), np.zeros(n), w)
    Phi = np.sqrt(2.0 / M) * np.cos(P @ W.T + b)
    sd = y.std()
    w_ref = Phi.T @ np.linalg.solve(Phi @ Phi.T + 1e-6 * np.eye(n), (y - y.mean()) / sd) * sd
    np.testing.assert_allclose(w, w_ref, rtol=1e-7, atol=1e-10)
    x = rng.uniform(size=d)
    g = np.zeros(d)
    S.rff_gradient(W, b, w, x, g)
    f = lambda z: np.sqrt(2.0 / M) * np.cos(W @ z + b) @ w  # noqa: E731
    fd = np.array([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in np.eye(d)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)
    # phi(x)^T phi(x') -> the SE kernel: Monte-Carlo error of an average of M bounded terms, 5/sqrt(M)
    phi = np.zeros(M)
    S.rff_features(W, b, x, phi)
    exact = np.exp(-((x - P) ** 2).sum(1) / (2 * ls * ls))
    assert np.max(np.abs(Phi @ phi - exact)) < 5.0 / np.sqrt(M)


def _projected_fedavg_numpy(inst, rounds, T, eta, gamma, adam=False, inv_t=False):
    """Plain NumPy first-order counterpart: x <- proj(x - eta [grad f_i + gamma (grad F - grad f_i)]).

    ``adam``: the same direction through Adam (b1 0.9, b2 0.999, eps 1e-8, fresh moments every round);
    ``inv_t``: gamma_t = gamma/(t + 1) at local step t.
    """
    d, N = inst.dim, int(inst.data[1])
    c1 = inst.data[2:2 + N * d].reshape(N, d)
    c2 = inst.data[2 + N * d:2 + 2 * N * d].reshape(N, d)

    def grad_i(i, x):
        return 0.1 * 20.0 * (2.0 * c1[i] * (20 * x - 10) + c2[i]) / d

    x = inst.reference["x0"].copy()
    for _ in range(rounds):
        finals = []
        for i in range(N):
            z = x.copy()
            m1, m2 = np.zeros(d), np.zeros(d)
            for t in range(T):
                gF = np.mean([grad_i(j, z) for j in range(N)], axis=0)
                gi = grad_i(i, z)
                direction = gi + (gamma / (t + 1) if inv_t else gamma) * (gF - gi)
                if adam:
                    m1 = 0.9 * m1 + 0.1 * direction
                    m2 = 0.999 * m2 + 0.001 * direction ** 2
                    step = (m1 / (1 - 0.9 ** (t + 1))) / (np.sqrt(m2 / (1 - 0.999 ** (t + 1))) + 1e-8)
                else:
                    step = direction
                z = np.clip(z - eta * step, 0.0, 1.0)
            finals.append(z)
        x = np.mean(finals, axis=0)
    return x


@pytest.mark.parametrize("gamma,correction,opt,schedule", [
    (1.0, "exact", "sgd", "const"), (0.0, "none", "sgd", "const"), (0.5, "exact", "sgd", "const"),
    (1.0, "exact", "adam", "const"), (1.0, "exact", "sgd", "inv_t")])
def test_fzoos_with_exact_gradients_is_its_first_order_counterpart(gamma, correction, opt, schedule):
    inst = _fed(div=2.0)
    adam = opt == "adam"
    p = _defaults("fzoos", exact_gradients=True, correction=correction, gamma=gamma, eta=0.03, local_steps=4,
                  local_opt=opt, gamma_schedule=schedule)
    records, x, info, queries = fa.run_fzoos_raw(inst, p, 6, 0)
    g_eff = gamma if correction == "exact" else 0.0
    expected = _projected_fedavg_numpy(inst, 6, 4, 0.03, g_eff, adam, schedule == "inv_t")
    np.testing.assert_allclose(x, expected, rtol=1e-12, atol=1e-14)
    assert queries.sum() == 0
    # FedZO with exact gradients is FedAvg with local gradient steps: the same point as gamma = 0.
    p = _defaults("fedzo", exact_gradients=True, eta=0.03, local_steps=4, local_opt=opt)
    _, x2, _, _ = fa.run_fedzo_raw(inst, p, fa.FEDZO_METHODS["fedzo"], 6, 0)
    np.testing.assert_allclose(x2, _projected_fedavg_numpy(inst, 6, 4, 0.03, 0.0, adam), rtol=1e-12, atol=1e-14)


def _counted(inst: Instance) -> Instance:
    o = dict(oracles.FED_QUADRATIC_COUNTED)
    o["measure"] = oracles.fed_quadratic_value  # measurements stay uncounted
    return Instance(data=inst.data.copy(), oracles=o, reference=inst.reference, dim=inst.dim)


def test_every_query_is_counted_per_client():
    inst = _counted(_fed(div=1.0, d=5, n=3))
    R, T = 3, 4
    p = _defaults("fzoos", local_steps=T, n_active=2, n_around=3, rff_features=100, rff_points=30,
                  active_candidates=10, around_candidates=10)
    records, _, _, queries = fa.run_fzoos_raw(inst, p, R, 7)
    calls = oracles.counters_of(inst.data)
    np.testing.assert_array_equal(queries, calls)
    per_round = 1 + T + 2 * (T - 1) + 3
    assert np.all(calls == p["n_init"] + R * per_round)
    assert records[-1, 1] == calls.sum()
    for method, extra in [("fedzo", 0), ("I", 1)]:
        inst2 = _counted(_fed(div=1.0, d=5, n=3))
        pz = _defaults("fedzo", local_steps=T, q=6)
        _, _, _, q2 = fa.run_fedzo_raw(inst2, pz, fa.FEDZO_METHODS[method], R, 3)
        calls2 = oracles.counters_of(inst2.data)
        np.testing.assert_array_equal(q2, calls2)
        # per round: f(x_r) + T (q + 1); SCAFFOLD type I adds a fresh estimate at x_r (q + 1 more)
        assert np.all(calls2 == R * (1 + T * 7 + extra * 7))


def test_fed_quadratic_optimum_matches_a_bounded_solver():
    inst = _fed(div=3.0, d=6, n=5, seed=3)
    N, d = 5, 6
    value = lambda x: np.mean([oracles.fed_quadratic_value(i, x, inst.data) for i in range(N)])  # noqa: E731
    best = min((minimize(value, x0, method="L-BFGS-B", bounds=[(0, 1)] * d, options={"ftol": 1e-15, "gtol": 1e-12})
                for x0 in np.random.default_rng(0).uniform(size=(4, d))), key=lambda r: r.fun)
    assert best.fun == pytest.approx(inst.reference["F_star"], abs=1e-10)
    np.testing.assert_allclose(best.x, inst.reference["x_star"], atol=1e-5)


def test_fed_levy_optimum_is_global_and_the_gradient_oracle_is_right():
    inst = problems.build_fed_levy({"dim": 3, "clients": 4, "div": 0.5, "target_gap": 1e-2}, np.random.default_rng(2))
    N, d = 4, 3
    value = lambda x: np.mean([oracles.fed_levy_value(i, np.ascontiguousarray(x), inst.data) for i in range(N)])  # noqa
    x_star = inst.reference["x_star"]
    assert value(x_star) == pytest.approx(inst.reference["F_star"], abs=1e-12)
    starts = np.random.default_rng(0).uniform(size=(10, d))
    found = min(minimize(value, x0, method="L-BFGS-B", bounds=[(0, 1)] * d).fun for x0 in starts)
    assert inst.reference["F_star"] <= found + 1e-9
    x = np.random.default_rng(5).uniform(0.1, 0.9, size=d)
    g = np.zeros(d)
    oracles.fed_levy_grad(1, x, inst.data, g)
    f = lambda z: oracles.fed_levy_value(1, np.ascontiguousarray(z), inst.data)  # noqa: E731
    fd = np.array([(f(x + 1e-7 * e) - f(x - 1e-7 * e)) / 2e-7 for e in np.eye(d)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)


def test_fzoos_removes_the_drift_floor_that_stops_fedzo():
    inst = problems.build_fed_quadratic({"dim": 6, "clients": 4, "div": 3.0, "target_gap": 1e-3},
                                        np.random.default_rng(1))
    p = _defaults("fzoos", eta=0.05, rff_features=300, rff_points=60, active_candidates=15, n_neighbors=40)
    fz = fa.run_fzoos(inst, p, Budget(8, 1), np.random.default_rng(0))
    fo = fa.run_fedzo(inst, _defaults("fedzo", eta=0.05), Budget(8, 1), np.random.default_rng(0))
    assert fz.events["final_F_gap"] < 0.3 * fo.events["final_F_gap"]
    assert fz.columns["queries"][-1] < fo.columns["queries"][-1]
