"""ZO-RankSGD: estimator identities, Monte-Carlo unbiasedness of the gradient direction, problem references."""
import math

import numpy as np
import pytest
from scipy import stats

from optsandbox.api import Budget
from optsandbox.zeroth_order import problems
from optsandbox.zeroth_order import rank_algorithms as ra
from optsandbox.zeroth_order import rank_kernels as K
from optsandbox.zeroth_order import rank_theory as th


def _edge_sum_estimate(xi, values, k):
    """Plain NumPy: (1/|E|) sum over the explicit DAG edges (i better than j) of (xi_j - xi_i)."""
    m = len(values)
    order = np.argsort(values, kind="stable")
    top = list(order[:k])
    rest = [i for i in range(m) if i not in top]
    g = np.zeros(xi.shape[1])
    edges = 0
    for a in range(k):
        for b in range(a + 1, k):
            g += xi[top[b]] - xi[top[a]]
            edges += 1
        for j in rest:
            g += xi[j] - xi[top[a]]
            edges += 1
    assert edges == th.edges(m, k)
    return g / edges


@pytest.mark.parametrize("m,k", [(10, 10), (10, 3), (10, 1), (2, 1), (7, 4)])
def test_dag_weights_equal_the_explicit_edge_sum(m, k):
    rng = np.random.default_rng(m * 10 + k)
    for _ in range(5):
        xi = rng.standard_normal((m, 6))
        values = rng.standard_normal(m)
        order = np.argsort(values, kind="stable").astype(np.int64)
        w = np.empty(m)
        E = K.dag_weights(order, m, k, False, w)
        assert E == th.edges(m, k)
        assert abs(w.sum()) < 1e-12
        np.testing.assert_allclose(w @ xi / E, _edge_sum_estimate(xi, values, k), atol=1e-12)


def test_ranked_order_sorts_and_breaks_ties_uniformly():
    rng = np.random.default_rng(3)
    values = np.array([2.0, 1.0, 1.0, 0.5])
    order = np.empty(4, dtype=np.int64)
    first_tie = []
    for _ in range(4000):
        K.ranked_order(rng, values, 4, order)
        assert order[0] == 3 and order[3] == 0 and set(order[1:3]) == {1, 2}
        first_tie.append(order[1] == 1)
    # P(index 1 before index 2) = 1/2: 4000 draws, 5 standard deviations = 0.04
    assert abs(np.mean(first_tie) - 0.5) < 0.04


def test_c1_of_full_rankings_is_two_over_sqrt_pi():
    for m in (2, 5, 10, 20):
        assert th.c1(m, m) == pytest.approx(2.0 / math.sqrt(math.pi), rel=1e-9)
        assert th.s_orth(m, m) == pytest.approx(4.0 * (m + 1) / (3.0 * m * (m - 1)), rel=1e-12)
    assert th.c1(2, 1) == pytest.approx(2.0 / math.sqrt(math.pi), rel=1e-9)


@pytest.mark.parametrize("method,m,k,code", [(K.RANK, 10, 10, False), (K.RANK, 10, 3, False), (K.PAIRS, 10, 10, False),
                                             (K.RANK, 10, 3, True)])
def test_estimator_is_unbiased_for_the_normalized_gradient_direction(method, m, k, code):
    """E g = c_1 grad f/||grad f|| on a quadratic (mu -> 0), by Monte Carlo.

    Along u: |mean<g, u> - c_1| <= 5 standard errors (false alarm < 1e-6). Orthogonal to u: N ||mean g_perp||^2 / s
    is chi-square with d - 1 degrees of freedom; it must stay below the 1 - 1e-6 quantile. E||g||^2 = c_2
    within 5 standard errors. ``code``: the public code's weights 2r - m, whose c_1, c_2 differ (spec A.4).
    """
    d, n = 8, 6000
    inst = problems.build_zo_quadratic({"dim": d, "init_radius": 0.0}, np.random.default_rng(0))
    x = inst.reference["x0"].copy()
    gf = np.empty(d)
    inst.oracles["grad"](x, inst.data, gf)
    u = gf / np.linalg.norm(gf)
    xi = np.empty((m, d))
    fvals, w, y, g = np.empty(m), np.empty(m), np.empty(d), np.empty(d)
    order = np.empty(m, dtype=np.int64)
    samples = np.empty((n, d))
    rng = np.random.default_rng(11)
    for t in range(n):
        K.estimate(method, rng, inst.oracles["value"], inst.data, x, 1e-7, m, k, code, 0.0, 0.0, 0.0, xi, fvals,
                   w, order, y, g)
        samples[t] = g
    pairs = method == K.PAIRS
    along = samples @ u
    assert abs(along.mean() - th.c1(m, k, pairs, code)) < 5 * along.std() / math.sqrt(n)
    perp = samples.mean(axis=0) - along.mean() * u
    stat = n * perp @ perp / th.s_orth(m, k, pairs, code)
    assert stat < stats.chi2.ppf(1 - 1e-6, d - 1)
    sq = np.sum(samples ** 2, axis=1)
    c_2 = th.c2(m, k, d, pairs, code)
    assert abs(sq.mean() - c_2) < 5 * sq.std() / math.sqrt(n) + 0.01 * c_2
    if code:  # the off-by-one changes the constants by more than the Monte-Carlo error: the flag matters
        assert abs(th.c1(m, k, pairs, True) - th.c1(m, k, pairs)) > 10 * along.std() / math.sqrt(n)


def _rank_params(**over):
    p = dict(m=10, k=10, mu=1e-5, eta0=0.0, schedule="constant", horizon=0, rank_noise=0.0, code_weights=False)
    p.update(over)
    return p


def test_zo_ranksgd_converges_within_the_derived_bound_on_the_nonconvex_problem():
    inst = problems.build_zo_wave({"dim": 10, "init_radius": 0.0, "beta": 1.0, "omega": 2.0},
                                  np.random.default_rng(1))
    r = ra.run_zo_ranksgd(inst, _rank_params(), Budget(2000, 100), np.random.default_rng(2))
    assert r.status == 0
    assert r.events["avg_grad_norm_over_bound"] <= 1.0
    assert r.columns["grad_norm"][-1] < 0.2 * r.columns["grad_norm"][0]
    assert r.columns["points_ranked"][-1] == 10 * 2000 and r.columns["rank_calls"][-1] == 2000
    assert r.columns["comparisons_revealed"][-1] == 2000 * th.edges(10, 10)


def test_same_seed_same_run_and_divergence_is_reported_not_raised():
    inst = problems.build_zo_quadratic({"dim": 5, "init_radius": 0.0}, np.random.default_rng(0))
    a = ra.run_zo_ranksgd(inst, _rank_params(), Budget(300, 10), np.random.default_rng(5))
    b = ra.run_zo_ranksgd(inst, _rank_params(), Budget(300, 10), np.random.default_rng(5))
    np.testing.assert_array_equal(a.columns["grad_norm"], b.columns["grad_norm"])
    # From a start where f overflows, ZO-SGD's differences are inf - inf = NaN: the kernel must stop with a
    # status and the iteration instead of raising. (Finite blow-ups stall: f's rounding error swamps
    # mu <grad f, u> long before ||x|| reaches 1e100.)
    inst.reference["x0"] = np.full(5, 1e200)
    bad = ra.run_zo_sgd(inst, dict(m=4, mu=1e-4, eta=0.1, horizon=0), Budget(2000, 10), np.random.default_rng(5))
    assert bad.status == 2 and bad.stop_iteration == 1


def test_a_ranking_of_non_finite_values_is_reported_as_divergence():
    """Rosenbrock at x = 1e80 (below the 1e100 iterate check) overflows: 100 (x^2)^2 = 1e322 = inf at every
    ranked point, so the order is meaningless. The run must stop with a status, not random-walk on."""
    inst = problems.build_rosenbrock({"dim": 5}, np.random.default_rng(0))
    inst.reference["x0"] = np.full(5, 1e80)
    r = ra.run_zo_ranksgd(inst, _rank_params(eta0=1.0), Budget(100, 10), np.random.default_rng(5))
    assert r.status == 2 and r.stop_iteration == 1


def test_k_larger_than_m_is_an_error_not_a_crash():
    inst = problems.build_zo_quadratic({"dim": 5, "init_radius": 0.0}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="1..m"):
        ra.run_rank_recombination(inst, dict(m=4, k=12, mu=0.1, horizon=0, rank_noise=0.0, flip_prob=0.0),
                                  Budget(5, 1), np.random.default_rng(0))
    with pytest.raises(ValueError, match="1..m"):
        ra.run_zo_ranksgd(inst, _rank_params(m=5), Budget(5, 1), np.random.default_rng(0))


def test_outside_theory_when_mu_is_too_large_or_f_not_smooth():
    inst = problems.build_zo_quadratic({"dim": 20, "init_radius": 0.0}, np.random.default_rng(0))
    r = ra.run_zo_ranksgd(inst, _rank_params(mu=0.5), Budget(200, 10), np.random.default_rng(1))
    assert not r.theory["avg_grad_norm"].applicable and "mu L d" in r.theory["avg_grad_norm"].condition
    ros = problems.build_rosenbrock({"dim": 5}, np.random.default_rng(0))
    r = ra.run_zo_ranksgd(ros, _rank_params(eta0=0.05), Budget(200, 10), np.random.default_rng(1))
    assert not r.theory["avg_grad_norm"].applicable


def test_lowrank_reference_matches_a_least_squares_solve():
    inst = problems.build_zo_quadratic_lowrank({"dim": 12}, np.random.default_rng(4))
    d = 12
    A = inst.data[1:1 + d * d].reshape(d, d)
    b = inst.data[1 + d * d:]
    x = np.linalg.lstsq(2 * A, -b, rcond=None)[0]  # a minimizer of x^T A x + b^T x (b in range(A))
    assert x @ A @ x + b @ x == pytest.approx(inst.reference["f_star"], rel=1e-9, abs=1e-12)
    gf = np.empty(d)
    inst.oracles["grad"](np.ascontiguousarray(inst.reference["x_star"]), inst.data, gf)
    assert np.linalg.norm(gf) < 1e-10
    assert inst.reference["L"] == pytest.approx(2 * np.linalg.norm(A, 2), rel=1e-10)


@pytest.mark.parametrize("method", [K.RANK, K.ZO_SGD, K.COMPARISON_SIGN, K.RECOMBINATION, K.PAIRS])
def test_one_estimate_agrees_with_plain_numpy_on_the_same_draws(method):
    """The kernel's estimate, recomputed in NumPy from the perturbations it drew (left in the xi buffer)."""
    d, m, k, mu = 6, 8, 5, 1e-3
    inst = problems.build_zo_quadratic_lowrank({"dim": d}, np.random.default_rng(1))
    A, b = inst.data[1:1 + d * d].reshape(d, d), inst.data[1 + d * d:]
    f = lambda z: z @ A @ z + b @ z  # noqa: E731
    x = inst.reference["x0"].copy()
    xi, fvals, w, y, g = np.empty((m, d)), np.empty(m), np.empty(m), np.empty(d), np.empty(d)
    order = np.empty(m, dtype=np.int64)
    K.estimate(method, np.random.default_rng(4), inst.oracles["value"], inst.data, x, mu, m, k, False, 0.0, 0.0,
               0.0, xi, fvals, w, order, y, g)
    vals = np.array([f(x + mu * v) for v in xi])
    if method == K.RANK:
        ranks = np.argsort(vals)
        weights = np.full(m, float(k))
        weights[ranks[:k]] = 2.0 * np.arange(k) - (m - 1)
        expected = weights @ xi / th.edges(m, k)
    elif method == K.PAIRS:
        expected = sum(np.sign(vals[2 * p] - vals[2 * p + 1]) * (xi[2 * p] - xi[2 * p + 1])
                       for p in range(m // 2)) / (m // 2)
    elif method == K.RECOMBINATION:
        ranks = np.argsort(vals)[:k]
        c = (k - np.arange(k)) / (k * (k + 1) / 2)
        expected = x - c @ (x + mu * xi[ranks])
    else:
        q = m - 1
        diffs = np.array([f(x + mu * xi[j]) - f(x) for j in range(q)])
        coef = diffs / (mu * q) if method == K.ZO_SGD else np.sign(diffs) / q
        expected = coef @ xi[:q]
    np.testing.assert_allclose(g, expected, rtol=1e-7, atol=1e-9)


def test_line_search_variant_never_increases_f_and_counts_both_rankings():
    inst = problems.build_zo_wave({"dim": 8, "init_radius": 0.0, "beta": 1.0, "omega": 2.0}, np.random.default_rng(2))
    p = dict(m=6, k=3, mu=1e-3, eta=1.0, n_line=5, horizon=0, code_weights=False)
    r = ra.run_zo_ranksgd_line_search(inst, p, Budget(300, 1), np.random.default_rng(0))
    gaps = r.columns["f_gap"]
    assert np.all(np.diff(gaps) <= 0.0) and gaps[-1] < 0.01 * gaps[0]
    assert r.columns["points_ranked"][-1] == 300 * (6 + 5) and r.columns["rank_calls"][-1] == 600
