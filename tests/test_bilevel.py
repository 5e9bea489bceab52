"""Mathematical facts of the bilevel family: references, estimators, convergence, counting, scenarios.

Sizes are small so that the whole file (numba compilation from a cold cache included) stays fast.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from optsandbox import rates, registry, runner, scenario
from optsandbox.api import STATUS_BUDGET, Budget
from optsandbox.bilevel import algorithms, bench, problems

SQ = {"d_x": 4, "d_y": 5, "mu": 0.5, "L_g": 1.0, "rho": 1.0, "noise": 0.0, "x_start": 2.0, "y_start": 0.0}
K1 = {"d_x": 4, "d_y": 8, "m": 6, "rank": 4, "mu": 0.1, "L_g": 1.0, "coupling": 1.0, "box": 100.0,
      "noise": 0.0, "x_start": 0.0, "y_start": 0.0}
L4 = {"n": 8, "rho": 1.0, "noise": 0.0, "x_start": 0.0, "y_start": 0.0}

BOREP = {"mode": "practical", "eta": 0.01, "beta": 0.9, "nu": 0.5, "gamma": 0.5, "period": 2, "inner_steps": 3,
         "init_refinement": True,
         "eps_norm": 1e-10, "order": "clean", "horizon": 0, "c_eta": 1.0}
PENALTY = {"sigma": 1e-3, "alpha": 0.0, "gamma_y": 0.0, "gamma_z": 0.0, "inner_steps": 0, "batch_inner": 1.0,
           "batch_outer": 1.0, "pair_sample": "same", "precision": 0.0}
P2 = {"sigma": 1e-3, "alpha": 0.0, "gamma_y": 0.0, "gamma_z": 0.0, "momentum": 1.0, "init_batch": 1}
LVHBA = {"alpha": 0.01, "beta": 0.01, "eta": 0.02, "gamma1": 0.5, "gamma2": 0.5, "c_lower": 1.0, "p": 0.25,
         "r": 1000.0}
F2SA = {"inner_steps": 10, "c_alpha": 0.05, "c_gamma": 1.0, "k0": 1.0, "r_x": 10.0, "pair_sample": "same"}


def rng(seed=0):
    return np.random.default_rng(seed)


def fd_grad(fun, x, h=1e-6):
    e = np.eye(x.size)
    return np.array([(fun(x + h * e[i]) - fun(x - h * e[i])) / (2 * h) for i in range(x.size)])


# ---------------------------------------------------------------------------------------------------
# References


@pytest.mark.parametrize("kind", ["quadratic", "quartic_logcosh"])
def test_closed_form_hypergradient_matches_finite_differences_of_the_lower_level_solve(kind):
    build = problems.build_quadratic if kind == "quadratic" else problems.build_quartic_logcosh
    inst = build(SQ, rng(1))
    ref = inst.reference
    A, B, b = ref["A"], ref["B"], ref["b"]

    def phi(x):  # solve the lower level directly, then evaluate f
        y = np.linalg.solve(A, B @ x)
        if kind == "quadratic":
            return 0.5 * x @ x + 0.5 * np.sum((y - b) ** 2)
        return 0.25 * np.sum(x ** 4) + np.sum(np.log(np.cosh(y - b)))

    for x in rng(2).standard_normal((3, SQ["d_x"])):
        g = problems.sq_hypergradient(ref, x[None, :])[0]
        np.testing.assert_allclose(g, fd_grad(phi, x), rtol=1e-6, atol=1e-7)
    # x* is a stationary point and a minimizer (Phi convex)
    xs = ref["x_star"]
    assert np.linalg.norm(problems.sq_hypergradient(ref, xs[None, :])[0]) < 1e-9
    res = minimize(phi, np.zeros(SQ["d_x"]), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(res.x, xs, atol=1e-5)


def test_oracles_agree_with_numpy_formulas_and_finite_differences():
    inst = problems.build_quartic_logcosh(SQ, rng(3))
    ref, o = inst.reference, inst.oracles
    A, B, b = ref["A"], ref["B"], ref["b"]
    x, y, v = rng(4).standard_normal(4), rng(5).standard_normal(5), rng(6).standard_normal(5)
    gx, gy = np.empty(4), np.empty(5)
    o["g_grad"](x, y, inst.data, gx, gy)
    np.testing.assert_allclose(gy, A @ y - B @ x, atol=1e-12)
    np.testing.assert_allclose(gx, -B.T @ y, atol=1e-12)
    g = lambda xx, yy: 0.5 * yy @ A @ yy - yy @ B @ xx  # noqa: E731
    np.testing.assert_allclose(gx, fd_grad(lambda t: g(t, y), x), atol=1e-7)
    o["f_grad"](x, y, inst.data, gx, gy)
    np.testing.assert_allclose(gx, x ** 3, atol=1e-12)
    np.testing.assert_allclose(gy, np.tanh(y - b), atol=1e-12)
    hv, jv = np.empty(5), np.empty(4)
    o["ll_hvp"](x, y, v, inst.data, jv, hv)
    o["ll_jvp"](x, y, v, inst.data, jv, gy)
    np.testing.assert_allclose(hv, A @ v, atol=1e-12)
    np.testing.assert_allclose(jv, -B.T @ v, atol=1e-12)
    k1 = problems.build_rank_deficient(K1, rng(7))
    r = k1.reference
    x, y = rng(8).standard_normal(4), rng(9).standard_normal(8)
    gx, gy = np.empty(4), np.empty(8)
    k1.oracles["g_grad"](x, y, k1.data, gx, gy)
    gfun = lambda xx, yy: 0.5 * np.sum((r["M"] @ yy - r["N"] @ xx) ** 2)  # noqa: E731
    np.testing.assert_allclose(gy, fd_grad(lambda t: gfun(x, t), y), atol=1e-7)
    np.testing.assert_allclose(gx, fd_grad(lambda t: gfun(t, y), x), atol=1e-7)
    k1.oracles["f_grad"](x, y, k1.data, gx, gy)
    ffun = lambda xx, yy: 0.5 * np.sum((yy - r["c"] - r["E"] @ xx) ** 2) + 0.5 * np.sum((xx - r["d"]) ** 2)  # noqa
    np.testing.assert_allclose(gx, fd_grad(lambda t: ffun(t, y), x), atol=1e-7)


def _k1_direct(ref, x, sigma):
    """psi(x) and psi_sigma(x) without the closed forms: least squares over S(x) and a linear solve."""
    M, N, E, c, d = ref["M"], ref["N"], ref["E"], ref["c"], ref["d"]
    target = c + E @ x
    y_ls = np.linalg.lstsq(M, N @ x, rcond=None)[0]  # a point of S(x)
    _, s, Vt = np.linalg.svd(M)
    kernel = Vt[np.sum(s > 1e-10):].T  # basis of ker M
    w = np.linalg.lstsq(kernel, target - y_ls, rcond=None)[0]
    y_opt = y_ls + kernel @ w
    psi = 0.5 * np.sum((y_opt - target) ** 2) + 0.5 * np.sum((x - d) ** 2)
    y_s = np.linalg.solve(sigma * np.eye(M.shape[1]) + M.T @ M, sigma * target + M.T @ N @ x)
    excess = 0.5 * np.sum((M @ y_s - N @ x) ** 2) - 0.5 * np.sum((M @ y_ls - N @ x) ** 2)
    psi_s = 0.5 * np.sum((y_s - target) ** 2) + 0.5 * np.sum((x - d) ** 2) + excess / sigma
    return psi, psi_s, y_s, y_ls


def test_penalty_landscape_is_order_sigma_with_slope_one():
    """|psi_sigma - psi| and |grad psi_sigma - grad psi| = O(sigma): slope about 1, closed forms exact."""
    ref = problems.build_rank_deficient(K1, rng(10)).reference
    x = rng(11).standard_normal(4)
    sigmas = np.logspace(-1, -4, 7)
    gaps, grad_gaps = [], []
    for s in sigmas:
        psi, psi_s, _, _ = _k1_direct(ref, x, s)
        gv, gg = problems.k1_penalty_gaps(ref, x[None, :], s)
        assert abs(psi - problems.k1_psi(ref, x[None, :])[0]) < 1e-9
        np.testing.assert_allclose(psi - psi_s, gv[0], rtol=1e-5, atol=1e-12)
        # gradient of psi_sigma by finite differences of the direct evaluation
        g_s = fd_grad(lambda t: _k1_direct(ref, t, s)[1], x, h=1e-5)
        g = problems.k1_grad_psi(ref, x[None, :])[0]
        np.testing.assert_allclose(np.linalg.norm(g_s - g), gg[0], rtol=1e-3, atol=1e-7)
        gaps.append(gv[0])
        grad_gaps.append(gg[0])
    assert 0.9 < rates.fit_power(sigmas, gaps, tail=1.0) < 1.1
    assert 0.9 < rates.fit_power(sigmas, grad_gaps, tail=1.0) < 1.1


def test_penalty_estimator_is_danskin_gradient_of_psi_sigma():
    """d = grad_x f(x, y_sigma) + (grad_x g(x, y_sigma) - grad_x g(x, z))/sigma equals grad psi_sigma."""
    inst = problems.build_rank_deficient(K1, rng(12))
    ref, o = inst.reference, inst.oracles
    x = rng(13).standard_normal(4)
    s = 0.01
    _, _, y_s, z = _k1_direct(ref, x, s)
    fx, fy, gx, gy, zx, zy = np.empty(4), np.empty(8), np.empty(4), np.empty(8), np.empty(4), np.empty(8)
    o["f_grad"](x, y_s, inst.data, fx, fy)
    o["g_grad"](x, y_s, inst.data, gx, gy)
    o["g_grad"](x, z, inst.data, zx, zy)
    d = fx + (gx - zx) / s
    closed = problems.k1_grad_psi(ref, x[None, :])[0] - s * (
        problems.k1_a(ref, x[None, :])[0] @ np.linalg.inv(ref["M"].T @ ref["M"] + s * np.eye(8)) @ ref["J"])
    np.testing.assert_allclose(d, closed, rtol=1e-7, atol=1e-9)


def test_coupled_inequality_reference_matches_scipy():
    ref = problems.build_coupled_inequality(L4, rng(14)).reference
    a, d, e, rho = ref["a"], ref["d"], ref["e"], ref["rho"]
    for i in range(a.size):
        phi = lambda t, i=i: 0.5 * (min(a[i], t) - d[i]) ** 2 + 0.5 * rho * (t - e[i]) ** 2  # noqa: E731
        best = min((minimize_scalar(phi, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
                    for lo, hi in ((a[i] - 5, a[i]), (a[i], a[i] + 5))), key=lambda r: r.fun)
        assert abs(best.x - ref["x_star"][i]) < 1e-6
    assert ref["n_active"] == L4["n"] // 2
    np.testing.assert_allclose(ref["y_star"][ref["active"] > 0], ref["x_star"][ref["active"] > 0])


def test_lvhba_inner_saddle_point_satisfies_its_optimality_conditions():
    ref = problems.build_coupled_inequality(L4, rng(15)).reference
    g = rng(16)
    X, Y, Z = g.standard_normal((5, 8)), g.standard_normal((5, 8)), g.uniform(0, 2, (5, 8))
    g1, g2, r = 0.5, 0.7, 1.5
    th, lam = problems.l4_inner_saddle(ref, X, Y, Z, g1, g2, r)
    np.testing.assert_allclose(lam, np.clip(Z + g2 * (th - X), 0.0, r), atol=1e-12)
    np.testing.assert_allclose((th - ref["a"]) + lam + (th - Y) / g1, 0.0, atol=1e-12)


def test_coupled_equality_reference_and_inner_saddle_point():
    """L1: the KKT solve gives the symmetric closed form; y* solves the lower level; saddle conditions hold."""
    inst = problems.build_coupled_equality({"n": 5, "noise": 0.0, "x_start": 0.0, "y_start": 0.0}, rng(30))
    ref = inst.reference
    np.testing.assert_allclose(ref["x_star"], -0.3, atol=1e-12)
    np.testing.assert_allclose(ref["y_star"], np.r_[np.full(5, 0.7), np.full(5, -0.4)], atol=1e-12)
    # y* minimizes g(x*, .) on {1^T x* + 1^T y = 0}: the LL objective is linear in y2, so compare with scipy
    x = ref["x_star"]
    g = lambda y: 0.5 * y[:5] @ y[:5] - x @ y[:5] + np.sum(y[5:])  # noqa: E731
    cons = {"type": "eq", "fun": lambda y: np.sum(x) + np.sum(y)}
    res = minimize(g, np.zeros(10), constraints=[cons], method="SLSQP", options={"ftol": 1e-14})
    assert abs(res.fun - g(ref["y_star"])) < 1e-8
    G = rng(31)
    X, Y, Z = G.standard_normal((4, 5)), G.standard_normal((4, 10)), G.uniform(-1, 1, (4, 1))
    g1, g2, r = 0.5, 0.7, 100.0
    th, lam = problems.l1_inner_saddle(ref, X, Y, Z, g1, g2, r)
    # theta minimizes g(x, .) + lam q(x, .) + |. - y|^2/(2 gamma1); lam = z + gamma2 q(x, theta)
    np.testing.assert_allclose(th[:, :5] - X + lam + (th[:, :5] - Y[:, :5]) / g1, 0.0, atol=1e-12)
    np.testing.assert_allclose(1.0 + lam + (th[:, 5:] - Y[:, 5:]) / g1, 0.0, atol=1e-12)
    np.testing.assert_allclose(lam[:, 0], Z[:, 0] + g2 * (X.sum(axis=1) + th.sum(axis=1)), atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Convergence to the known solution


def test_every_hypergradient_method_reaches_the_quadratic_solution():
    inst = problems.build_quadratic(SQ, rng(17))
    runs = {
        "aid": (algorithms.run_aid, {"inner_steps": 10, "linsys_steps": 10, "solver": "cg", "rho": 0.0,
                                     "gamma": 0.0}, 300, 1e-8),
        "soba": (algorithms.run_soba, {"rho": 0.5, "gamma": 0.01, "e_rho": 0.0, "e_gamma": 0.0}, 4000, 1e-6),
        "ma_soba": (algorithms.run_ma_soba, {"rho": 0.5, "gamma": 0.01, "beta": 0.9}, 4000, 1e-6),
        # normalized steps of length eta with a momentum horizon 1/(1 - beta): the iterate circles x* within
        # about eta / (1 - beta) (spec 2.4, practical-mode floor)
        "borep": (algorithms.run_borep, BOREP, 3000, BOREP["eta"] / (1 - BOREP["beta"])),
        # bias O(1/lambda_k), lambda_k ~ k^(1/7): slow
        "f2sa": (algorithms.run_f2sa, F2SA, 3000, 0.1),
    }
    for name, (run, params, iters, tol) in runs.items():
        res = run(inst, params, Budget(iters, iters // 10), rng())
        assert res.status == STATUS_BUDGET, name
        assert res.columns["x_distance"][-1] < tol, (name, res.columns["x_distance"][-1])


def test_penalty_methods_reach_the_solution_up_to_order_sigma():
    inst = problems.build_quadratic(SQ, rng(18))
    for sigma in (1e-2, 1e-3):
        p1 = algorithms.run_penalty(inst, dict(PENALTY, sigma=sigma), Budget(300, 30), rng())
        p2 = algorithms.run_penalty_single_loop(inst, dict(P2, sigma=sigma), Budget(5000, 500), rng())
        for res in (p1, p2):
            assert res.columns["x_distance"][-1] < 5 * sigma
    # the two methods share their fixed point (the stationary point of psi_sigma)
    np.testing.assert_allclose(p1.final["x"], p2.final["x"], atol=1e-8)


def test_penalty_finds_the_optimistic_solution_where_soba_finds_the_selection():
    inst = problems.build_rank_deficient(K1, rng(19))
    ref = inst.reference
    p1 = algorithms.run_penalty(inst, PENALTY, Budget(400, 40), rng())
    soba = algorithms.run_soba(inst, {"rho": 0.5, "gamma": 0.05, "e_rho": 0.0, "e_gamma": 0.0},
                               Budget(20000, 2000), rng())
    assert p1.columns["x_distance"][-1] < 10 * PENALTY["sigma"]
    np.testing.assert_allclose(soba.final["x"], ref["x_sel"], atol=1e-6)
    assert ref["selection_offset"] > 0.1


def test_lvhba_reaches_the_constrained_solution_and_feasibility_vanishes():
    inst = problems.build_coupled_inequality(L4, rng(20))
    res = algorithms.run_lvhba(inst, LVHBA, Budget(20000, 200), rng())
    c = res.columns
    assert c["rel_x_error"][-1] < 1e-3
    # y solves the penalized problem f + c_k (g - v_gamma), whose curvature in y is c_k gamma1/(1 + gamma1):
    # its error decays like 1/c_k = k^-p, slowly (ratio 10^-p = 0.56 between k = 2000 and 20000)
    at_2000 = np.flatnonzero(c["iteration"] == 2000)[0]
    assert c["y_distance"][-1] < 0.7 * c["y_distance"][at_2000]
    assert c["theta_violation"][-1] < 1e-6
    assert np.all(c["constraint_violation"] < 1e-12)  # (x, y) are projected onto C
    gap = c["feasibility_gap"]
    assert np.all(gap > -1e-12)  # g - v_gamma >= 0 on C
    assert gap[-1] < 0.1 * gap[1]
    assert rates.fit_power(c["iteration"], gap) < -LVHBA["p"]  # at least the K^-p of the theorem
    assert c["kkt_residual_min"][-1] < 1e-2 * c["kkt_residual"][0]
    # one (theta, lambda) step per iteration tracks a target that moves like k^(-1-p): a small lag remains
    assert c["inner_distance"][-1] < 1e-3 * np.nanmax(c["inner_distance"])
    assert res.theory["feasibility_gap"].value == -LVHBA["p"]
    out = algorithms.run_lvhba(inst, dict(LVHBA, p=0.5), Budget(10, 10), rng())
    assert not out.theory["kkt_residual_min"].applicable


def test_lvhba_converges_on_the_non_singleton_coupled_equality_problem():
    inst = problems.build_coupled_equality({"n": 4, "noise": 0.0, "x_start": 0.0, "y_start": 0.0}, rng(32))
    res = algorithms.run_lvhba(inst, dict(LVHBA, p=0.4), Budget(20000, 200), rng())
    c = res.columns
    assert c["rel_x_error"][-1] < 0.05 and c["rel_x_error"][-1] < 0.5 * c["rel_x_error"][20]
    assert np.all(c["constraint_violation"] < 1e-10)
    assert c["theta_violation"][-1] < 1e-3 and np.all(c["feasibility_gap"] > -1e-10)
    bad = algorithms.run_lvhba(inst, dict(LVHBA, gamma1=10.0), Budget(10, 10), rng())
    assert not bad.theory["feasibility_gap"].applicable  # gamma1 >= 1/rho_g = 1.62


def test_borep_estimator_converges_to_the_closed_form_at_fixed_x():
    """With eta = 0, y -> y*(x) and v -> v*(x), so q = grad_x f - J v -> grad Phi(x) exactly."""
    inst = problems.build_quartic_logcosh(SQ, rng(21))
    for order in ("clean", "authors"):  # authors: HVP at the pre-refresh y; same fixed point
        res = algorithms.run_borep(inst, dict(BOREP, eta=0.0, period=2, inner_steps=5, order=order),
                                   Budget(400, 40), rng())
        assert res.columns["ll_distance"][-1] < 1e-10
        assert res.columns["linsys_distance"][-1] < 1e-10


def test_borep_theory_parameters_follow_the_horizon():
    ref = {"L_g": 1.0, "kappa": 2.0, "D0": 4.0}
    p = algorithms.borep_theory_parameters(4096, ref)
    assert p["period"] == 64 and p["inner_steps"] == 128
    assert math.isclose(p["eta"], 4.0 * 4096 ** -0.75)
    assert math.isclose(1 - p["beta"], 1 / 64) and math.isclose(p["gamma"], 1 / 64)


# ---------------------------------------------------------------------------------------------------
# Kernels against the plain NumPy iterations, counting, noise, divergence


def test_kernels_agree_with_independent_numpy_iterations():
    inst = problems.build_quadratic(SQ, rng(22))
    r = inst.reference
    A, B, b, rho, x0, y0 = r["A"], r["B"], r["b"], r["rho"], r["x0"], r["y0"]
    res = algorithms.run_borep(inst, dict(BOREP, eta=0.05, nu=0.01), Budget(50, 50), rng())
    np.testing.assert_allclose(res.final["x"], bench.borep_numpy(A, B, b, rho, x0, y0, 50, 0.05, 0.9, 0.01, 0.5,
                                                                 2, 3)[0], atol=1e-10)
    res = algorithms.run_soba(inst, {"rho": 0.5, "gamma": 0.01, "e_rho": 0.0, "e_gamma": 0.0}, Budget(50, 50), rng())
    np.testing.assert_allclose(res.final["x"], bench.soba_numpy(A, B, b, rho, x0, y0, 50, 0.5, 0.01)[0], atol=1e-10)
    pp = dict(PENALTY, sigma=0.01, alpha=0.01, gamma_y=0.5, gamma_z=0.5, inner_steps=5)
    res = algorithms.run_penalty(inst, pp, Budget(20, 20), rng())
    np.testing.assert_allclose(res.final["x"], bench.penalty_numpy(A, B, b, rho, x0, y0, y0, 20, 0.01, 0.01, 0.5,
                                                                   0.5, 5)[0], atol=1e-10)
    l4 = problems.build_coupled_inequality(L4, rng(23))
    lr = l4.reference
    res = algorithms.run_lvhba(l4, LVHBA, Budget(300, 300), rng())
    mine = bench.lvhba_numpy(lr["a"], lr["d"], lr["e"], lr["rho"], lr["x0"], lr["y0"], 300, 0.01, 0.01, 0.02, 0.5,
                             0.5, 1.0, 0.25, 1000.0)
    np.testing.assert_allclose(res.final["x"], mine[0], atol=1e-10)
    np.testing.assert_allclose(res.final["y"], mine[1], atol=1e-10)


def test_oracle_counts_follow_the_accounting_rules():
    inst = problems.build_quadratic(SQ, rng(24))
    K = 10
    bo = algorithms.run_borep(inst, dict(BOREP, period=3, inner_steps=2), Budget(K, 1), rng()).columns
    assert bo["oracle_calls"][-1] == 3 * K + 2 * math.ceil(K / 3)
    assert bo["ll_hvp"][-1] == K and bo["ll_jvp"][-1] == K and bo["ll_grad_y"][-1] == 2 * math.ceil(K / 3)
    p1 = algorithms.run_penalty(inst, dict(PENALTY, inner_steps=4), Budget(K, 1), rng()).columns
    assert p1["oracle_calls"][-1] == K * (3 * 4 + 3)
    assert p1["ll_hvp"][-1] == 0 and p1["ll_jvp"][-1] == 0  # first order only
    assert p1["projections"][-1] == K * 2 * 4
    so = algorithms.run_soba(inst, {"rho": 0.5, "gamma": 0.01, "e_rho": 0.0, "e_gamma": 0.0}, Budget(K, 1), rng())
    assert so.columns["oracle_calls"][-1] == 4 * K
    lv = algorithms.run_lvhba(problems.build_coupled_inequality(L4, rng(25)), LVHBA, Budget(K, 1), rng()).columns
    assert lv["oracle_calls"][-1] == 7 * K
    assert lv["ll_hvp"][-1] == 0 and lv["con_vjp"][-1] == 2 * K  # Hessian-free
    # counters are monotone along the rows
    assert np.all(np.diff(bo["oracle_calls"]) >= 0)


def test_noisy_runs_are_deterministic_per_seed_and_same_pair_cancels_noise():
    inst = problems.build_quadratic(dict(SQ, noise=0.1), rng(26))
    a = algorithms.run_borep(inst, BOREP, Budget(200, 20), rng(1))
    b = algorithms.run_borep(inst, BOREP, Budget(200, 20), rng(1))
    c = algorithms.run_borep(inst, BOREP, Budget(200, 20), rng(2))
    np.testing.assert_array_equal(a.final["x"], b.final["x"])
    assert not np.array_equal(a.final["x"], c.final["x"])
    # With additive noise, a shared draw cancels in grad_x G(x, y) - grad_x G(x, z); independent draws
    # leave a variance of order 2 s^2 / sigma^2 in the x-direction. Inner loops get huge batches (noise
    # 1e-5) so that only the outer estimator differs between the two runs.
    pp = dict(PENALTY, sigma=0.01, batch_inner=1e10)
    same = algorithms.run_penalty(inst, dict(pp, pair_sample="same"), Budget(100, 10), rng(3))
    indep = algorithms.run_penalty(inst, dict(pp, pair_sample="independent"), Budget(100, 10), rng(3))
    assert same.columns["x_distance"][-1] < 0.2 * indep.columns["x_distance"][-1]


def test_fixed_step_divergence_is_reported_not_raised():
    far = problems.build_quartic_logcosh(dict(SQ, x_start=10.0), rng(27))
    res = algorithms.run_soba(far, {"rho": 0.05, "gamma": 0.05, "e_rho": 0.0, "e_gamma": 0.0}, Budget(500, 10), rng())
    assert res.status in (2, 3) and 0 < res.stop_iteration < 500
    ok = algorithms.run_borep(far, dict(BOREP, eta=0.05, nu=0.01), Budget(2000, 20), rng())
    assert ok.status == STATUS_BUDGET
    assert ok.columns["hypergrad_norm"][-1] < 0.01 * ok.columns["hypergrad_norm"][0]


# ---------------------------------------------------------------------------------------------------
# Scenarios


def test_every_bilevel_scenario_passes_its_quick_check():
    names = sorted(n for n, p in registry.scenario_paths().items() if n.startswith("bilevel-"))
    assert len(names) >= 6
    for name in names:
        sc = scenario.load(name, quick=True)
        v = rates.verdicts(sc, runner.run_jobs(sc, runner.jobs_for(sc)))
        bad = [f"{b.algorithm_id} {b.metric}: {b.verdict}" for b in v.bounds if b.violation]
        bad += [c.text for c in v.claims if c.holds is not True]
        assert not bad, (name, bad)


def test_jit_and_pure_python_agree_on_short_noisy_runs():
    """The kernels give the same iterates with NUMBA_DISABLE_JIT=1 (same Mersenne-Twister noise stream)."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, numpy as np\n"
        "from optsandbox.api import Budget\n"
        "from optsandbox.bilevel import problems, algorithms as al\n"
        "q = problems.build_quadratic(dict(d_x=3, d_y=3, mu=0.5, L_g=1.0, rho=1.0, noise=0.1, x_start=1.0,"
        " y_start=0.0), np.random.default_rng(0))\n"
        "k = problems.build_rank_deficient(dict(d_x=3, d_y=5, m=4, rank=3, mu=0.1, L_g=1.0, coupling=1.0,"
        " box=100.0, noise=0.1, x_start=0.0, y_start=0.0), np.random.default_rng(0))\n"
        "l = problems.build_coupled_inequality(dict(n=4, rho=1.0, noise=0.0, x_start=0.0, y_start=0.0),"
        " np.random.default_rng(0))\n"
        f"bo = {BOREP!r}\n"
        "out = [al.run_borep(q, dict(bo, mode='theory', horizon=16), Budget(16, 4), np.random.default_rng(1)),\n"
        "       al.run_soba(k, dict(rho=0.5, gamma=0.05, e_rho=0.0, e_gamma=0.0), Budget(20, 5),"
        " np.random.default_rng(1)),\n"
        "       al.run_aid(q, dict(inner_steps=3, linsys_steps=3, solver='cg', rho=0.0, gamma=0.0), Budget(5, 5),"
        " np.random.default_rng(1)),\n"
        f"       al.run_f2sa(k, {F2SA!r}, Budget(5, 5), np.random.default_rng(1)),\n"
        f"       al.run_penalty(k, dict({PENALTY!r}, inner_steps=3), Budget(5, 5), np.random.default_rng(1)),\n"
        f"       al.run_penalty_single_loop(q, dict({P2!r}, momentum=0.3), Budget(20, 5), np.random.default_rng(1)),\n"
        f"       al.run_lvhba(l, {LVHBA!r}, Budget(20, 5), np.random.default_rng(1))]\n"
        "result = [list(r.final['x']) for r in out]\n")
    jitted: dict = {}
    exec(code, jitted)  # the same runs here, compiled
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run([sys.executable, "-c", code + "print(json.dumps(result))\n"], env=env,
                          capture_output=True, text=True, check=True)
    for a, b in zip(jitted["result"], json.loads(done.stdout)):
        np.testing.assert_allclose(np.array(a, float), np.array(b, float), rtol=1e-9, atol=1e-12)


def test_lower_level_gap_is_zero_exactly_on_the_solution_set_and_positive_off_it():
    """ll_gap = g(x, y) - min g(x, .) computed in closed form agrees with a direct minimization."""
    g = rng(40)
    q = problems.build_quadratic(SQ, rng(41))
    X, Y = g.standard_normal((3, 4)), g.standard_normal((3, 5))
    m = problems.metrics(q, X, Y)
    A, B = q.reference["A"], q.reference["B"]
    for x, y, gap in zip(X, Y, m["ll_gap"]):
        gv = lambda t, x=x: 0.5 * t @ A @ t - t @ B @ x  # noqa: E731
        assert abs(gap - (gv(y) - gv(np.linalg.solve(A, B @ x)))) < 1e-10
    k1 = problems.build_rank_deficient(K1, rng(42))
    r = k1.reference
    Xk = g.standard_normal((3, 4))
    on_set = Xk @ (r["M_pinv"] @ r["N"]).T + g.standard_normal((3, 8)) @ (np.eye(8) - r["P_R"])
    np.testing.assert_allclose(problems.metrics(k1, Xk, on_set)["ll_gap"], 0.0, atol=1e-10)
    assert np.all(problems.metrics(k1, Xk, g.standard_normal((3, 8)))["ll_gap"] > 0)
    l1 = problems.build_coupled_equality({"n": 3, "noise": 0.0, "x_start": 0.0, "y_start": 0.0}, rng(43))
    x = g.standard_normal(3)
    y2 = g.standard_normal(3)
    y2 += (-2 * x.sum() - 3 - y2.sum()) / 3  # on the LL-feasible hyperplane, y1 = x + 1
    np.testing.assert_allclose(problems.metrics(l1, x[None, :], np.r_[x + 1, y2][None, :])["ll_gap"], 0.0,
                               atol=1e-12)


def test_theorems_for_strongly_convex_lower_levels_are_outside_theory_on_k1():
    """BO-REP (theory mode) and F2SA assume a strongly convex LL; K1's LL is only PL (review fix)."""
    k1 = problems.build_rank_deficient(K1, rng(50))
    bo = algorithms.run_borep(k1, dict(BOREP, mode="theory", horizon=16), Budget(16, 4), rng())
    assert not bo.theory["hypergrad_norm_avg"].applicable
    f2 = algorithms.run_f2sa(k1, F2SA, Budget(5, 5), rng())
    assert not f2.theory["hypergrad_norm_min"].applicable
    q = problems.build_quadratic(SQ, rng(51))
    assert algorithms.run_borep(q, dict(BOREP, mode="theory", horizon=16), Budget(16, 4),
                                rng()).theory["hypergrad_norm_avg"].applicable
    assert algorithms.run_f2sa(q, F2SA, Budget(5, 5), rng()).theory["hypergrad_norm_min"].applicable


def test_bounds_on_a_shrinking_sigma_axis_treat_a_smaller_slope_as_slower():
    """An O(sigma) bias has slope +1 in sigma; a bias that does not vanish (slope 0) must be a violation."""
    for name in ("bilevel-penalty-bias", "bilevel-penalty-single-loop"):
        sc = scenario.load(name, quick=True)
        sigma_bounds = [b for b in sc.bounds if b.axis == "sigma"]
        assert sigma_bounds and all(b.better == "larger" for b in sigma_bounds), name
        b = sigma_bounds[0]
        assert rates.compare("power", 0.0, 1.0, b.tolerance, b.better) == rates.SLOWER
        assert rates.compare("power", 0.97, 1.0, b.tolerance, b.better) == rates.MATCHES


def test_oracle_counts_of_f2sa_p2_and_aid_follow_the_accounting_rules():
    """Spec 5.2: F2SA 3T + 3 calls; spec 3.3: P2 6 calls per iteration plus 3 b_0 at the start; spec 5.1:
    AID T + Q + 2 (CG: one HVP for the warm-start residual plus at most Q)."""
    inst = problems.build_quadratic(SQ, rng(52))
    K = 7
    f2 = algorithms.run_f2sa(inst, dict(F2SA, inner_steps=4), Budget(K, 1), rng()).columns
    assert f2["oracle_calls"][-1] == K * (3 * 4 + 3) and f2["ll_hvp"][-1] == 0 and f2["ll_jvp"][-1] == 0
    p2 = algorithms.run_penalty_single_loop(inst, dict(P2, init_batch=5), Budget(K, 1), rng()).columns
    assert p2["oracle_calls"][0] == 3 * 5 and p2["oracle_calls"][-1] == 3 * 5 + 6 * K
    assert p2["ll_hvp"][-1] == 0
    aid = algorithms.run_aid(inst, {"inner_steps": 3, "linsys_steps": 2, "solver": "gd", "rho": 0.0,
                                    "gamma": 0.0}, Budget(K, 1), rng()).columns
    assert aid["oracle_calls"][-1] == K * (3 + 2 + 2)
    cg = algorithms.run_aid(inst, {"inner_steps": 3, "linsys_steps": 2, "solver": "cg", "rho": 0.0,
                                   "gamma": 0.0}, Budget(K, 1), rng()).columns
    assert K * 4 <= cg["oracle_calls"][-1] <= K * (3 + 3 + 2) and cg["ll_hvp"][-1] <= 3 * K
