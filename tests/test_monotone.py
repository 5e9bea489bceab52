"""Mathematical facts of the monotone family: projections, oracles, problem constants, Halpern's bound,
the variance-reduced estimators, convergence to the known solutions, and the family's scenarios."""
from __future__ import annotations


import numpy as np
import pytest

from optsandbox.api import STATUS_CONVERGED, Budget
from optsandbox.kernels.projections import project_ball, project_box, project_simplex
from optsandbox.monotone import algorithms, kernels, oracles, problems

P1 = dict(n=64, d=8, r=5, l_min=0.05, l_max=1.0, delta=0.3, s=2, active_power=1.0, box=0.0)
P2 = dict(n=32, m=4, delta=0.5, quad=0.0, sv_min=0.2, sv_max=1.0, box=0.0)
DEFAULTS = dict(step_scale=1.0, batch=0, target_rel=0.0, eta=0.0, gamma=0.0, inner_scale=1.0,
                snapshot_reset="iterate")


def p1(seed=0, **kw):
    return problems.build_coco_lowrank({**P1, **kw}, np.random.default_rng(seed))


def p2(seed=0, **kw):
    return problems.build_bilinear_sum({**P2, **kw}, np.random.default_rng(seed))


def run(name, inst, epochs=200, record_every=20, seed=1, **params):
    return getattr(algorithms, f"run_{name}")(inst, {**DEFAULTS, **params}, Budget(epochs, record_every),
                                              np.random.default_rng(seed))


def unpack_affine(inst):
    n, d = int(inst.data[1]), int(inst.data[2])
    start = oracles.HEADER + d * d + d
    Ms = inst.data[start:start + n * d * d].reshape(n, d, d)
    ms = inst.data[start + n * d * d:start + n * d * d + n * d].reshape(n, d)
    return Ms, ms


# ---------------------------------------------------------------------------------------------------
# Projections


def simplex_reference(y):
    """Projection onto the simplex by bisection on the threshold (independent of the sort-based rule)."""
    lo, hi = y.min() - 1.0, y.max()
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        lo, hi = (tau, hi) if np.maximum(y - tau, 0).sum() > 1 else (lo, tau)
    return np.maximum(y - 0.5 * (lo + hi), 0)


def test_simplex_projection_matches_reference_and_fixes_simplex_points():
    rng = np.random.default_rng(0)
    scratch = np.empty(7)
    for _ in range(50):
        y = rng.standard_normal(7) * 3
        x = y.copy()
        project_simplex(x, 1.0, scratch)
        np.testing.assert_allclose(x, simplex_reference(y), atol=1e-12)
        # variational inequality <y - x, v - x> <= 0 at every vertex v
        assert np.all((y - x) @ (np.eye(7) - x).T <= 1e-12)
    on = rng.dirichlet(np.ones(7))
    on[2] = 0.0
    on /= on.sum()
    x = on.copy()
    project_simplex(x, 1.0, scratch)
    np.testing.assert_allclose(x, on, atol=1e-15)


def test_game_resolvent_projects_both_blocks_like_the_sort_rule():
    rng = np.random.default_rng(1)
    data = oracles.pack_game(np.abs(rng.standard_normal((6, 6))))
    scratch = np.empty(6)
    for _ in range(20):
        w = rng.standard_normal(12)
        out = np.empty(12)
        oracles.resolvent(w, 0.3, data, out)
        for block in (slice(0, 6), slice(6, 12)):
            ref = w[block].copy()
            project_simplex(ref, 1.0, scratch)
            np.testing.assert_allclose(out[block], ref, atol=1e-12)


def test_box_and_ball_projections():
    x = np.array([-3.0, 0.5, 2.0])
    project_box(x, -1.0, 1.0)
    np.testing.assert_array_equal(x, [-1.0, 0.5, 1.0])
    y = np.array([3.0, 4.0])
    project_ball(y, 1.0)
    np.testing.assert_allclose(y, [0.6, 0.8])


# ---------------------------------------------------------------------------------------------------
# Oracles and problem constants


def test_affine_oracles_agree_with_numpy_and_average_to_full():
    inst = p1()
    Ms, ms = unpack_affine(inst)
    u = np.random.default_rng(2).standard_normal(8)
    out, full = np.empty(8), np.empty(8)
    comps = []
    for i in range(64):
        oracles.comp_op(i, u, inst.data, out)
        np.testing.assert_allclose(out, Ms[i] @ u - ms[i], atol=1e-12)
        comps.append(out.copy())
    oracles.full_op(u, inst.data, full)
    np.testing.assert_allclose(np.mean(comps, axis=0), full, atol=1e-12)
    assert oracles.residual(u, inst.data, np.empty(16)) == pytest.approx(np.linalg.norm(full))


def test_game_components_average_to_the_game_operator():
    A = np.abs(np.random.default_rng(3).standard_normal((5, 5)))
    data = oracles.pack_game(A)
    u = np.random.default_rng(4).random(10)
    out, full = np.empty(10), np.empty(10)
    total = np.zeros(10)
    for i in range(5):
        oracles.comp_op(i, u, data, out)
        total += out / 5
    oracles.full_op(u, data, full)
    np.testing.assert_allclose(full, np.concatenate([A.T @ u[5:], -A @ u[:5]]), atol=1e-12)
    np.testing.assert_allclose(total, full, atol=1e-12)


def test_p1_constants_solution_and_average_cocoercivity():
    inst = p1(delta=0.8)
    ref = inst.reference
    Ms, ms = unpack_affine(inst)
    Sbar = Ms.mean(axis=0)
    assert ref["L_coco"] == pytest.approx(1.0, rel=1e-9)  # l_max by construction
    assert np.linalg.eigvalsh(Sbar)[-1] == pytest.approx(1.0, rel=1e-9)
    F = lambda u: Sbar @ u - ms.mean(axis=0)  # noqa: E731
    np.testing.assert_allclose(F(ref["u_star"]), 0.0, atol=1e-10)
    assert ref["D"] == pytest.approx(np.linalg.norm(ref["u0"] - ref["u_star"]))
    rng = np.random.default_rng(5)
    L = ref["L_avg_coco"]
    ratios = []
    for _ in range(300):
        du = rng.standard_normal(8)
        lhs = np.mean([np.sum((M @ du) ** 2) for M in Ms])
        rhs = du @ Sbar @ du
        ratios.append(lhs / rhs)
    assert max(ratios) <= L * (1 + 1e-9)  # (A-coco) holds with the stated L
    assert max(ratios) >= 0.5 * L  # and L is not loose
    assert ref["L_coco"] <= L <= 64 * ref["L_coco"]


def test_p1_active_power_makes_the_average_constant_grow_like_n_to_the_half():
    Ls = [p1(n=n, active_power=0.5).reference["L_avg_coco"] for n in (16, 64, 256)]
    slope = np.polyfit(np.log([16, 64, 256]), np.log(Ls), 1)[0]
    assert 0.4 < slope < 0.6


def test_p2_is_monotone_not_cocoercive_with_the_known_solution():
    inst = p2()
    Ms, ms = unpack_affine(inst)
    Jbar = Ms.mean(axis=0)
    np.testing.assert_allclose(Jbar + Jbar.T, 0.0, atol=1e-12)  # skew
    assert inst.reference["cocoercive"] == 0.0
    np.testing.assert_allclose(Jbar @ inst.reference["u_star"] - ms.mean(axis=0), 0.0, atol=1e-10)


def test_game_lp_solution_is_a_saddle_point():
    inst = problems.build_matrix_game({"m": 12, "theta": 0.8}, np.random.default_rng(6))
    A = inst.data[oracles.HEADER:].reshape(12, 12)
    x, y = inst.reference["u_star"][:12], inst.reference["u_star"][12:]
    value = inst.reference["value"]
    assert np.max(A @ x) == pytest.approx(value, abs=1e-8)
    assert np.min(A.T @ y) == pytest.approx(value, abs=1e-8)


# ---------------------------------------------------------------------------------------------------
# Halpern


def halpern_numpy(Sbar, mbar, u0, eta, K):
    u = u0.copy()
    out = []
    for k in range(K):
        u = u0 / (k + 2) + (1 - 1 / (k + 2)) * (u - eta * (Sbar @ u - mbar))
        out.append(np.linalg.norm(Sbar @ u - mbar))
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_halpern_obeys_the_tight_bound_at_every_step_and_matches_numpy(seed):
    inst = p1(seed, delta=0.5)
    res = run("halpern", inst, epochs=300, record_every=1)
    ref = inst.reference
    k, residual = res.columns["iteration"], res.columns["residual"]
    bound = ref["L_coco"] * ref["D"] / (k + 1)
    assert np.all(residual[1:] <= bound[1:] * (1 + 1e-9))
    assert res.events["max_bound_ratio"] <= 1.0
    Ms, ms = unpack_affine(inst)
    plain = halpern_numpy(Ms.mean(axis=0), ms.mean(axis=0), ref["u0"], 2.0 / ref["L_coco"], 300)
    np.testing.assert_allclose(residual[1:], plain[k[1:].astype(int) - 1], rtol=1e-7, atol=1e-12)


def test_halpern_on_a_skew_operator_is_outside_theory_and_stops_without_crashing():
    res = run("halpern", p2(), epochs=20000, record_every=1000)
    assert not res.theory["residual"].applicable
    assert res.status in (2, 3)  # diverged, reported with its iteration
    assert np.isnan(res.columns["residual"][-1]) and res.stop_iteration > 0


# ---------------------------------------------------------------------------------------------------
# Variance-reduced estimators


def test_minibatch_difference_is_unbiased_and_its_variance_shrinks_with_the_batch():
    inst = p1(delta=1.0)
    n, d = 64, 8
    rng = np.random.default_rng(7)
    u, v = rng.standard_normal(d), rng.standard_normal(d)
    fu, fv = np.empty(d), np.empty(d)
    oracles.full_op(u, inst.data, fu)
    oracles.full_op(v, inst.data, fv)
    mean_diff = fu - fv
    Ms, _ = unpack_affine(inst)
    diffs = np.array([M @ (u - v) for M in Ms])
    pop_var = np.mean(np.sum((diffs - mean_diff) ** 2, axis=1))
    perm = np.arange(n, dtype=np.int64)
    t1, t2 = np.empty(d), np.empty(d)
    variances = []
    for b in (2, 8, 32):
        draws = np.empty((4000, d))
        np.random.seed(0)
        for k in range(4000):
            out = np.zeros(d)
            kernels.minibatch_difference(oracles.comp_op, inst.data, u, v, b, perm, t1, t2, out)
            draws[k] = out
        se = np.sqrt(pop_var / b / 4000)
        assert np.all(np.abs(draws.mean(axis=0) - mean_diff) < 5 * se + 1e-12)  # unbiased
        var = np.mean(np.sum((draws - mean_diff) ** 2, axis=1))
        exact = pop_var / b * (n - b) / (n - 1)  # sampling without replacement
        assert var == pytest.approx(exact, rel=0.15)
        # the spec's bound E||zeta||^2 <= (L/b) <F(u) - F(v), u - v>
        assert var <= inst.reference["L_avg_coco"] / b * (mean_diff @ (u - v)) * 1.15
        variances.append(var)
    assert variances[0] > variances[1] > variances[2]


def test_svrg_estimate_is_exactly_unbiased_and_variance_vanishes_at_the_snapshot():
    inst = p2()
    d = 8
    rng = np.random.default_rng(8)
    z, w = rng.standard_normal(d), rng.standard_normal(d)
    fz, fw = np.empty(d), np.empty(d)
    oracles.full_op(z, inst.data, fz)
    oracles.full_op(w, inst.data, fw)
    t1, t2, out = np.empty(d), np.empty(d), np.empty(d)

    def moments(z):
        est = []
        for i in range(32):
            kernels.svrg_estimate(oracles.comp_op, inst.data, i, z, w, fw, t1, t2, out)
            est.append(out.copy())
        est = np.array(est)
        return est.mean(axis=0), np.mean(np.sum((est - est.mean(axis=0)) ** 2, axis=1))

    mean, var = moments(z)
    np.testing.assert_allclose(mean, fz, atol=1e-12)
    assert var <= inst.reference["L_avg_lip"] ** 2 * np.sum((z - w) ** 2) * (1 + 1e-9)
    _, var_close = moments(w + 1e-3 * (z - w))
    assert var_close < 1e-5 * var


# ---------------------------------------------------------------------------------------------------
# Convergence of every method to the known solution


def test_vr_halpern_converges_to_the_projection_of_u0_on_the_solution_set():
    inst = p1(n=256, d=8, r=5, delta=0.05)
    res = run("vr_halpern", inst, epochs=600, record_every=50)
    assert res.columns["dist_to_sol"][-1] < 0.01 * res.columns["dist_to_sol"][0]
    assert res.columns["residual"][-1] < 0.01 * res.columns["residual"][0]


@pytest.mark.parametrize("name", ["vr_halpern_lip", "eag", "eg", "vr_eg"])
def test_monotone_methods_converge_on_the_skew_problem(name):
    inst = p2()
    res = run(name, inst, epochs=800, record_every=100)
    assert res.status == 0
    assert res.columns["dist_to_sol"][-1] < 0.1 * res.columns["dist_to_sol"][0]


def test_box_constrained_vr_halpern_stays_feasible_and_drives_the_natural_residual_down():
    inst = p1(n=128, d=6, r=6, delta=0.1, box=1.5)
    lo, hi = inst.data[4], inst.data[5]
    res = run("vr_halpern", inst, epochs=400, record_every=50)
    assert np.all((res.final["u"] >= lo - 1e-12) & (res.final["u"] <= hi + 1e-12))
    assert res.columns["residual"][-1] < 0.01 * res.columns["residual"][0]
    # r = d: the solution is unique and strictly inside the box, so the iterates converge to it
    assert res.columns["dist_to_sol"][-1] < 0.05 * res.columns["dist_to_sol"][0]


def test_target_stops_the_run_and_reports_epochs():
    inst = p1()
    res = run("halpern", inst, epochs=5000, target_rel=1e-2)
    assert res.status == STATUS_CONVERGED
    assert res.columns["residual"][-1] <= 1e-2 * res.columns["residual"][0]
    assert res.events["epochs_to_target"] == res.columns["epochs"][-1]


def test_theory_is_declared_outside_its_conditions():
    skew = run("vr_halpern", p2(), epochs=20)
    assert not skew.theory["residual"].applicable  # (A-coco) fails on a skew operator
    big_step = run("vr_halpern", p1(), epochs=20, step_scale=1.5)
    assert not big_step.theory["residual"].applicable
    loose = run("vr_halpern", p1(), epochs=50, target_rel=0.5)
    assert not loose.theory["epochs_to_target"].applicable  # the warm-up dominates: no sqrt(n) regime
    assert run("vr_halpern", p1(), epochs=50, target_rel=1e-3).theory["epochs_to_target"].applicable
    assert not run("eag", p1(), epochs=20, step_scale=2.0).theory["residual"].applicable
    # Alg. 2: the default inner step is in theory; the public scripts' gamma = 5 sqrt(p(1-p))/(sqrt(n)+1)
    # (c = 5 > 1/2 at eta = sqrt(n)/L) and the scripts' snapshot reset are not.
    inst = p2()
    n = int(inst.reference["n"])
    assert run("vr_halpern_lip", inst, epochs=5).theory["residual"].applicable
    authors = 5 * np.sqrt((1 / n) * (1 - 1 / n)) / (np.sqrt(n) + 1)
    assert not run("vr_halpern_lip", inst, epochs=5, gamma=authors).theory["residual"].applicable
    assert not run("vr_halpern_lip", inst, epochs=5, snapshot_reset="anchor").theory["residual"].applicable


def test_runs_are_deterministic_for_a_seed():
    inst = p1()
    a = run("vr_halpern", inst, epochs=100, seed=3)
    b = run("vr_halpern", inst, epochs=100, seed=3)
    np.testing.assert_array_equal(a.columns["residual"], b.columns["residual"])


# ---------------------------------------------------------------------------------------------------
# PEPit cross-check (optional) and the scenarios


def test_halpern_constant_matches_pepit_worst_case():
    pepit = pytest.importorskip("PEPit", reason="the optional PEPit package is not installed")
    from PEPit.examples.fixed_point_problems import wc_halpern_iteration

    n = 10
    pepit_tau, _ = wc_halpern_iteration(n=n, verbose=-1)
    # The project's bound ||u_n - T u_n|| <= 2 D / (n + 1), squared, is PEPit's worst case (Lieder, tight).
    assert pepit_tau == pytest.approx((2.0 / (n + 1)) ** 2, rel=1e-3)
    assert pepit is not None


def test_every_monotone_scenario_passes_its_quick_check():
    from optsandbox import rates, registry, runner, scenario

    names = [n for n, p in registry.scenario_paths().items() if p.parent.name == "monotone"]
    assert len(names) >= 4
    for name in names:
        sc = scenario.load(name, quick=True)
        v = rates.verdicts(sc, runner.run_jobs(sc, runner.jobs_for(sc)))
        failures = [(b.algorithm_id, b.verdict) for b in v.bounds if b.violation]
        failures += [c.text for c in v.claims if c.holds is False]
        assert not failures, (name, failures)
