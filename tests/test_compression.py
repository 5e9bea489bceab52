"""Compression family: compressors, EControl and its baselines, problems, scenarios."""
import math

import numpy as np
import pytest

from optsandbox import rates, registry, runner, scenario
from optsandbox.api import Budget
from optsandbox.compression import algorithms, problems
from optsandbox.kernels import compressors as cmp

D = 40


def _call(name, x, k):
    out = np.zeros_like(x)
    idx = np.zeros(x.shape[0], dtype=np.int64)
    nnz = cmp.COMPRESSORS[name](x, k, idx, out)
    return out, nnz


@pytest.mark.parametrize("k", [1, 4, 13, 39, 40])
def test_topk_is_the_numpy_topk_and_contracts(k):
    rng = np.random.default_rng(k)
    for _ in range(50):
        x = rng.standard_normal(D) * rng.choice([1e-3, 1.0, 1e3], size=D)
        out, nnz = _call("topk", x, k)
        keep = np.argpartition(-np.abs(x), k - 1)[:k]
        ref = np.zeros(D)
        ref[keep] = x[keep]
        np.testing.assert_array_equal(out, ref)
        assert nnz == k
        assert np.sum((out - x) ** 2) <= (1 - k / D) * np.sum(x ** 2) * (1 + 1e-12)


def test_topk_handles_ties_and_zeros():
    x = np.array([1.0, -1.0, 1.0, 0.0, 0.0, 1.0])
    out, _ = _call("topk", x, 2)
    assert np.count_nonzero(out) == 2 and set(np.abs(out[out != 0])) == {1.0}
    out, _ = _call("topk", np.zeros(6), 3)
    assert not out.any()


def test_random_compressors_satisfy_their_variance_identities():
    from numba import njit

    @njit
    def seed(s):
        np.random.seed(s)

    rng = np.random.default_rng(0)
    x = rng.standard_normal(D)
    k = 8
    seed(1)
    draws = 4000
    err_unscaled = np.mean([np.sum((_call("randk", x, k)[0] - x) ** 2) for _ in range(draws)])
    scaled = np.array([_call("randk_scaled", x, k)[0] for _ in range(draws)])
    nx = np.sum(x ** 2)
    # E||C(x) - x||^2 = (1 - k/d)||x||^2 (unscaled); per-draw values lie in [0, ||x||^2]: 4000 draws give a
    # standard error below 0.01 ||x||^2.
    assert abs(err_unscaled - (1 - k / D) * nx) < 0.04 * nx
    # scaled: unbiased, E||C(x) - x||^2 = (d/k - 1)||x||^2 (not contractive)
    # mean of 4000 draws: coordinate j has standard error |x_j| sqrt((d/k - 1)/4000)
    assert np.all(np.abs(scaled.mean(axis=0) - x) <= 5 * np.abs(x) * math.sqrt((D / k - 1) / draws) + 1e-12)
    err_scaled = np.mean(np.sum((scaled - x) ** 2, axis=1))
    assert abs(err_scaled - (D / k - 1) * nx) < 0.1 * (D / k - 1) * nx


def test_sign_and_identity_identities():
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.standard_normal(D)
        out, _ = _call("sign", x, 0)
        l1 = np.sum(np.abs(x))
        assert np.sum((out - x) ** 2) == pytest.approx(np.sum(x ** 2) - l1 ** 2 / D, rel=1e-10)
        assert np.sum((out - x) ** 2) <= (1 - 1 / D) * np.sum(x ** 2)
        np.testing.assert_array_equal(_call("identity", x, 0)[0], x)


def test_bits_per_message_formulas():
    assert cmp.bits_per_message("topk", 5, 50) == 5 * (32 + 6)
    assert cmp.bits_per_message("randk", 5, 50) == 160
    assert cmp.bits_per_message("sign", 50, 50) == 82
    assert cmp.bits_per_message("identity", 50, 50) == 1600
    assert cmp.k_of("topk", 0.1, 50) == 5 and cmp.delta_of("topk", 5, 50) == 0.1


def _quad(zeta=100.0, n=5, d=20, condition=10.0, sigma=0.0, seed=0, **kw):
    p = dict(n=n, d=d, zeta=zeta, condition=condition, L=1.0, planted=False, sigma=sigma, use_mu=True)
    p.update(kw)
    return problems.build_hetero_quadratic(p, np.random.default_rng(seed))


def test_hetero_quadratic_reference_is_the_optimum():
    inst = _quad(zeta=7.0)
    r = inst.reference
    d, n = inst.dim, 5
    G = np.zeros(n * d)
    inst.oracles["local_grads"](r["x_star"], inst.data, G)
    G = G.reshape(n, d)
    assert np.linalg.norm(G.mean(axis=0)) < 1e-10  # grad f(x*) = 0
    np.testing.assert_allclose(G, r["h_star"], atol=1e-10)
    assert r["zeta_sq"] == pytest.approx(49.0, rel=1e-10)
    assert inst.oracles["gap"](np.zeros(d), inst.data) == pytest.approx(r["f_gap0"], rel=1e-10)


def test_koloskova_reference_solves_the_normal_equations():
    inst = problems.build_koloskova_quadratic(dict(n=6, d=8, zeta=3.0, sigma=0.0, use_mu=True),
                                              np.random.default_rng(4))
    G = np.zeros(6 * 8)
    inst.oracles["local_grads"](inst.reference["x_star"], inst.data, G)
    assert np.linalg.norm(G.reshape(6, 8).mean(axis=0)) < 1e-12
    assert inst.reference["L"] == pytest.approx(np.mean(np.arange(1, 7) ** 2) / 6)


def test_counterexample_compressed_gd_diverges_along_the_ray():
    inst = problems.build_cgd_counterexample(dict(eps=0.1, t=1.0, sigma=0.0), np.random.default_rng(0))
    gamma_L = 0.5
    res = algorithms.run_cgd(inst, _params(k_ratio=0.33, step=gamma_L), Budget(2000, 10),
                             np.random.default_rng(0))
    assert res.status == 3 and res.stop_iteration < 2000  # reported as diverged, no exception
    # along x = s (1, 1, 1) every step multiplies x by 1 + gamma (5 + eps)/3 exactly
    gamma = gamma_L / inst.reference["L"]
    r = algorithms.run_cgd(inst, _params(k_ratio=0.33, step=gamma_L), Budget(10, 1), np.random.default_rng(0))
    np.testing.assert_allclose(r.final["x"], (1 + gamma * 5.1 / 3) ** 10 * np.ones(3), rtol=1e-12)
    ok = algorithms.run_econtrol(inst, _params(k_ratio=0.33), Budget(3000, 10), np.random.default_rng(0))
    assert ok.columns["f_gap"][-1] < 1e-12 * ok.columns["f_gap"][0]


def test_logistic_oracles_match_numpy_and_reference_is_stationary():
    p = dict(n=4, d=6, m=30, lam=0.1, flip=0.1, imbalance=1.0, sigma=0.0)
    inst = problems.build_hetero_logistic(p, np.random.default_rng(2))
    data = inst.data
    n, d = 4, 6
    offsets = data[5:5 + n + 1].astype(int)
    Z = data[5 + n + 1:].reshape(-1, d)
    x = np.random.default_rng(1).standard_normal(d)
    G = np.zeros(n * d)
    inst.oracles["local_grads"](x, data, G)
    f, g, Gref = problems.logistic_numpy(x, Z, offsets, 0.1)
    np.testing.assert_allclose(G.reshape(n, d), Gref, atol=1e-12)
    assert inst.oracles["gap"](x, data) == pytest.approx(f - inst.reference["f_ref"], abs=1e-12)
    assert inst.reference["grad_norm_ref"] < 1e-6
    sizes = np.diff(offsets)
    assert sizes.min() < sizes.max()  # uneven split


def test_nonconvex_problem_states_no_f_gap_bound():
    """On the nonconvex EC-2 the O(1/T) bound on f - f* does not apply (f_gap is measured against a
    stationary value); the nonconvex theorem on the average squared gradient norm does."""
    p = dict(n=4, d=6, m=30, lam=0.1, flip=0.1, imbalance=1.0, sigma=0.0)
    inst = problems.build_hetero_logistic(p, np.random.default_rng(2))
    for run in (algorithms.run_gd, algorithms.run_econtrol):
        res = run(inst, _params(eta=-1.0), Budget(20, 10), np.random.default_rng(0))
        assert not res.theory["f_gap"].applicable and "nonconvex" in res.theory["f_gap"].condition
        assert res.theory["grad_norm_sq_avg"].applicable
    quad = _quad(zeta=1.0, use_mu=False)  # convex (mu not used): the f_gap bound applies
    assert algorithms.run_gd(quad, _params(), Budget(20, 10), np.random.default_rng(0)).theory["f_gap"].applicable


def _params(**kw):
    p = dict(compressor="topk", k_ratio=0.1, step=0.0, stop_rel=1e-18, eta=0.1, init="dense")
    p.update(kw)
    return p


def test_econtrol_converges_linearly_where_ef14_fails():
    inst = _quad(zeta=100.0, n=5, d=20)
    budget = Budget(3000, 10)
    ec = algorithms.run_econtrol(inst, _params(), budget, np.random.default_rng(0))
    ef14 = algorithms.run_ef14(inst, _params(), budget, np.random.default_rng(0))
    gap_ec, gap_14 = ec.columns["f_gap"], ef14.columns["f_gap"]
    # EControl: exponential decay, 1e-10 of the start within the budget, a positive fitted rate
    assert gap_ec[-1] <= 1e-10 * gap_ec[0]
    assert rates.fit_exp(ec.columns["rounds"], gap_ec, tail=0.5) > 3e-3
    # EF14 with the same step: stalls at a plateau (second half of the run gains less than a factor 2)
    half = gap_14[len(gap_14) // 2]
    assert gap_14[-1] > 1e-3 * gap_14[0] and gap_14[-1] > 0.5 * half


def _numpy_run(method, inst, gamma, k, T, eta=0.1, init="dense"):
    """Plain NumPy version of the family's update rules (independent of the kernel; top-k by argpartition)."""
    n, d = int(inst.reference["n_clients"]), inst.dim

    def grads(x):
        G = np.zeros(n * d)
        inst.oracles["local_grads"](x, inst.data, G)
        return G.reshape(n, d)

    def C(v):
        out = np.zeros_like(v)
        keep = np.argpartition(-np.abs(v), k - 1)[:k]
        out[keep] = v[keep]
        return out

    x = np.zeros(d)
    e = np.zeros((n, d))
    h = None
    virtual_ok = True
    for t in range(T):
        g = grads(x)
        if method == "gd":
            x = x - gamma * g.mean(axis=0)
        elif method == "cgd":
            x = x - gamma * np.mean([C(gi) for gi in g], axis=0)
        elif method == "ef14":
            p = e + gamma * g
            delta = np.array([C(pi) for pi in p])
            e = p - delta
            x = x - delta.mean(axis=0)
        elif method == "ef21":
            if t == 0:
                h = g.copy() if init == "dense" else np.array([C(gi) for gi in g])
            else:
                h = h + np.array([C(gi - hi) for gi, hi in zip(g, h)])
            x = x - gamma * h.mean(axis=0)
        elif method == "econtrol":
            if t == 0:
                h = g.copy() if init == "dense" else np.array([C(gi) for gi in g])
            x_virtual = x - gamma * e.mean(axis=0)
            delta = np.array([C(eta * ei + gi - hi) for ei, gi, hi in zip(e, g, h)])
            e = e + g - h - delta
            h = h + delta
            x = x - gamma * h.mean(axis=0)
            # virtual iterate: x~_{t+1} = x~_t - gamma mean g_t, exactly (family spec identity 1)
            virtual_ok &= np.allclose(x - gamma * e.mean(axis=0), x_virtual - gamma * g.mean(axis=0),
                                      rtol=1e-10, atol=1e-10)
    return x, virtual_ok


@pytest.mark.parametrize("name", ["gd", "cgd", "ef14", "ef21", "econtrol"])
def test_kernel_matches_plain_numpy(name):
    inst = _quad(zeta=10.0, n=4, d=12)
    T = 60
    run = {"gd": algorithms.run_gd, "cgd": algorithms.run_cgd, "ef14": algorithms.run_ef14,
           "ef21": algorithms.run_ef21, "econtrol": algorithms.run_econtrol}[name]
    params = _params(k_ratio=0.25, step=0.3, eta=0.3)
    res = run(inst, params, Budget(T, 10), np.random.default_rng(0))
    k = 12 if name == "gd" else 3
    x_ref, virtual_ok = _numpy_run(name, inst, 0.3, k, T, eta=0.3)
    np.testing.assert_allclose(res.final["x"], x_ref, rtol=1e-10, atol=1e-12)
    assert virtual_ok


def test_econtrol_eta0_compressed_init_is_ef21_with_fresh_shift():
    inst = _quad(zeta=10.0, n=4, d=12)
    T = 40
    res = algorithms.run_econtrol(inst, _params(k_ratio=0.25, step=0.3, eta=0.0, init="compressed"),
                                  Budget(T, 10), np.random.default_rng(0))
    # EF21 with the step along the freshly updated shift: h_0 = C(g_0), then every round h += C(g - h)
    n, d, k, gamma = 4, 12, 3, 0.3

    def C(v):
        out = np.zeros_like(v)
        keep = np.argpartition(-np.abs(v), k - 1)[:k]
        out[keep] = v[keep]
        return out

    x = np.zeros(d)
    h = None
    for t in range(T):
        G = np.zeros(n * d)
        inst.oracles["local_grads"](x, inst.data, G)
        g = G.reshape(n, d)
        if h is None:
            h = np.array([C(gi) for gi in g])
        h = h + np.array([C(gi - hi) for gi, hi in zip(g, h)])
        x = x - gamma * h.mean(axis=0)
    np.testing.assert_allclose(res.final["x"], x, rtol=1e-10, atol=1e-12)


def test_counters_bits_and_gradients():
    inst = _quad(zeta=1.0, n=3, d=20)
    T = 50
    res = algorithms.run_econtrol(inst, _params(k_ratio=0.1), Budget(T, 10), np.random.default_rng(0))
    c = res.columns
    assert c["rounds"][-1] == T and c["grads"][-1] == T
    # dense initial shift (32 d bits) + one top-2 message per round (2 (32 + 5) bits)
    assert c["bits_up"][-1] == 32 * 20 + T * 2 * (32 + 5)
    assert c["floats_up"][-1] == 20 + T * 2


def test_divergence_is_a_status_not_a_crash():
    inst = _quad(zeta=10.0, n=3, d=10)
    res = algorithms.run_gd(inst, dict(step=5.0, stop_rel=1e-18), Budget(2000, 10), np.random.default_rng(0))
    assert res.status in (2, 3) and 0 < res.stop_iteration < 2000
    assert np.all(np.isfinite(res.columns["f_gap"]))


def test_noise_level_of_the_stochastic_oracle():
    # GD with a tiny step: x_T(sigma) - x_T(0) = -gamma sum_t (1/n) sum_i xi_ti up to a (1 - gamma L)^T
    # factor (here > 0.99), so each coordinate has variance gamma^2 T sigma^2/(d n).
    sigma, n, d, T, step = 2.0, 4, 10, 100, 1e-4
    noisy = _quad(zeta=1.0, n=n, d=d, sigma=sigma)
    clean = _quad(zeta=1.0, n=n, d=d, sigma=0.0)
    params = dict(step=step, stop_rel=0.0)
    x0 = algorithms.run_gd(clean, params, Budget(T, T), np.random.default_rng(0)).final["x"]
    diffs = [algorithms.run_gd(noisy, params, Budget(T, T), np.random.default_rng(s)).final["x"] - x0
             for s in range(30)]
    var = np.mean(np.square(diffs))  # 300 coordinates: relative standard error sqrt(2/300) = 0.08
    assert var == pytest.approx(step ** 2 * T * sigma ** 2 / (d * n), rel=0.3)


@pytest.mark.parametrize("name", sorted(n for n in registry.scenario_paths() if n.startswith("compression-")))
def test_scenario_quick_check_passes(name):
    sc = scenario.load(name, quick=True)
    v = rates.verdicts(sc, runner.run_jobs(sc, runner.jobs_for(sc)))
    assert not v.failed, [(b.algorithm_id, b.verdict) for b in v.bounds] + [(c.text, c.detail) for c in v.claims]


def test_benchmark_numpy_side_does_the_same_update():
    from optsandbox.compression.bench import _numpy_econtrol

    inst = _quad(zeta=10.0, n=4, d=20)
    params = _params(k_ratio=0.1, step=0.2, stop_rel=0.0)
    res = algorithms.run_econtrol(inst, params, Budget(50, 10), np.random.default_rng(0))
    x, log = _numpy_econtrol(inst, 0.2, 2, 0.1, 50)
    np.testing.assert_allclose(res.final["x"], x, rtol=1e-10, atol=1e-12)
    assert log[10, 0] == pytest.approx(res.columns["f_gap"][res.columns["iteration"] == 10][0], rel=1e-9)
