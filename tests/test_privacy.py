"""Privacy family: accountants, calibrated noise, DP-GD and DIFF2-GD kernels, scenarios."""
import math

import numpy as np
import pytest
from scipy.stats import chi2, norm

from optsandbox import rates, registry, runner, scenario
from optsandbox.api import Budget
from optsandbox.privacy import accounting as acc
from optsandbox.privacy import algorithms, problems
from optsandbox.privacy.oracles import unpack

DELTA = 1e-5


def test_zcdp_closed_form_and_inverse():
    rho = 0.05
    assert acc.zcdp_epsilon(rho, DELTA) == pytest.approx(rho + 2 * math.sqrt(rho * math.log(1 / DELTA)))
    for eps in (0.1, 1.0, 8.0):
        assert acc.epsilon(acc.max_M2(eps, DELTA, "zcdp"), DELTA, "zcdp") == pytest.approx(eps, rel=1e-12)


def test_gdp_known_values():
    # mu-GDP at epsilon = 0: delta = Phi(mu/2) - Phi(-mu/2)
    for mu in (0.5, 1.0, 2.0):
        assert acc.gdp_delta(0.0, mu) == pytest.approx(norm.cdf(mu / 2) - norm.cdf(-mu / 2), rel=1e-12)
    # Dong, Roth, Su: 1-GDP gives delta(eps = 1) = Phi(-1/2) - e Phi(-3/2) = 0.126936...
    assert acc.gdp_delta(1.0, 1.0) == pytest.approx(norm.cdf(-0.5) - math.e * norm.cdf(-1.5), rel=1e-12)
    assert acc.gdp_delta(1.0, 1.0) == pytest.approx(0.1269, abs=1e-4)


def test_rdp_basic_minimum_equals_zcdp():
    for M2 in (0.01, 0.1, 1.0):
        alphas = np.linspace(1.0001, 2000, 2_000_000)
        best = np.min(alphas * M2 / 2 + math.log(1 / DELTA) / (alphas - 1))
        assert best == pytest.approx(acc.epsilon(M2, DELTA, "rdp"), rel=1e-6)


@pytest.mark.parametrize("accountant", acc.ACCOUNTANTS)
def test_round_trip_and_monotonicity(accountant):
    eps_t = 1.0
    M2 = acc.max_M2(eps_t, DELTA, accountant)
    back = acc.epsilon(M2, DELTA, accountant, target_epsilon=eps_t)
    if accountant == "rdp_paper":
        assert back <= eps_t  # the fixed order spends at most epsilon
    else:
        assert back == pytest.approx(eps_t, rel=1e-6)
    # epsilon of T DP-GD rounds with noise multiplier sigma: M^2 = 4 T/(N^2 sigma^2)
    N = 1000

    def eps_of(T, sigma):
        return acc.epsilon(4 * T / (N * sigma) ** 2, DELTA, accountant, target_epsilon=eps_t)

    by_T = [eps_of(T, 0.05) for T in (1, 10, 100, 1000)]
    by_sigma = [eps_of(100, s) for s in (0.02, 0.05, 0.1, 0.5)]
    assert all(a < b for a, b in zip(by_T, by_T[1:]))
    assert all(a > b for a, b in zip(by_sigma, by_sigma[1:]))
    assert acc.max_M2(0.5, DELTA, accountant) < M2 < acc.max_M2(2.0, DELTA, accountant)
    assert acc.max_M2(eps_t, 1e-7, accountant) < M2 < acc.max_M2(eps_t, 1e-3, accountant)


def test_accountant_ordering():
    for eps in (0.5, 1.0, 4.0):
        m = {a: acc.max_M2(eps, DELTA, a) for a in acc.ACCOUNTANTS}
        assert m["gdp"] >= m["rdp_improved"] >= m["rdp"] * (1 - 1e-12)
        assert m["rdp"] == pytest.approx(m["zcdp"])
        assert m["zcdp"] >= m["rdp_paper"] * 0.95  # up to the rounding of the fixed order


def test_diff2_calibration_spends_at_most_epsilon():
    for R, T in ((100, 7), (50, 50), (64, 8), (10, 1)):
        s1, s2, restarts = acc.diff2_sigmas(1.0, DELTA, R, T, 2000, 1.25, "zcdp")
        assert restarts == math.ceil(R / T)
        pairs = [(s1, restarts)] + ([(s2, R - restarts)] if T > 1 else [])
        assert acc.epsilon(acc.composed_M2(2000, pairs), DELTA, "zcdp") <= 1.0 + 1e-12


def _instance(n=200, P=2, d=5, seed=0):
    return problems.build_robust_regression(dict(n=n, P=P, d=d, noise_scale=0.1, reference_solve=False),
                                            np.random.default_rng(seed))


def _dp_params(**kw):
    p = dict(epsilon=1.0, delta=DELTA, accountant="zcdp", rounds=0, clip=0.0, step=0.0)
    p.update(kw)
    return p


def _diff2_params(**kw):
    p = _dp_params(period=0, clip_diff=0.0, u=1.25, calibration="ceil")
    p.update(kw)
    return p


def _clipped_mean(per_sample, c):
    norms = np.linalg.norm(per_sample, axis=1, keepdims=True)
    scale = np.where(norms > c, c / np.where(norms > 0, norms, 1.0), 1.0)
    return (per_sample * scale).mean(axis=0)


def test_dpgd_noise_matches_the_calibrated_level():
    inst = _instance(d=8)
    P, n, A, b = unpack(inst.data)
    _, _, per_sample = problems.robust_numpy(np.zeros(8), A, b)
    clip = 0.3  # active for some samples: the release is the clipped mean plus the noise
    signal = _clipped_mean(per_sample, clip)
    eta = 0.5
    noise = []
    sigma = None
    for s in range(60):
        res = algorithms.run_dp_gd(inst, _dp_params(rounds=20, clip=clip),
                                   Budget(1, 1), np.random.default_rng(s))  # budget caps R at 1
        sigma = res.events["sigma_1"]
        v0 = -res.final["x"] / eta
        noise.append(v0 - signal)
    noise = np.concatenate(noise)
    # the calibrated std is C sigma with sigma^2 = 4 R/(N^2 M*^2) for the R = 1 rounds actually run
    assert sigma == pytest.approx(acc.dpgd_sigma(1.0, DELTA, 1, 400, "zcdp"), rel=1e-12)
    std = clip * sigma
    stat = np.sum((noise / std) ** 2)  # chi-square with 480 degrees of freedom if the level is right
    assert chi2.ppf(1e-4, noise.size) < stat < chi2.ppf(1 - 1e-4, noise.size)
    assert abs(np.mean(noise)) < 5 * std / math.sqrt(noise.size)


def test_diff2_difference_round_noise_matches_the_calibrated_level():
    d = 6
    inst = _instance(d=d)
    P, n, A, b = unpack(inst.data)
    eta, T = 0.5, 5
    noise = []
    for s in range(60):
        p = _diff2_params(rounds=2, period=T)
        r1 = algorithms.run_diff2(inst, {**p, "rounds": 1}, Budget(10, 1), np.random.default_rng(s))
        r2 = algorithms.run_diff2(inst, p, Budget(10, 1), np.random.default_rng(s))
        x1, x2 = r1.final["x"], r2.final["x"]
        v0, v1 = -x1 / eta, (x1 - x2) / eta
        _, _, g1 = problems.robust_numpy(x1, A, b)
        _, _, g0 = problems.robust_numpy(np.zeros(d), A, b)
        c = 1.0 * np.linalg.norm(x1)  # C2 = L = 1
        increment = _clipped_mean(g1 - g0, c)
        noise.append((v1 - v0 - increment) / c)
        sigma2 = r2.events["sigma_2"]
    noise = np.concatenate(noise)
    # sigma_2^2 = 4 u R/((u - 1) N^2 M*^2) with R = 2
    M2 = acc.max_M2(1.0, DELTA, "zcdp")
    assert sigma2 == pytest.approx(math.sqrt(4 * 1.25 * 2 / (0.25 * 400 ** 2 * M2)), rel=1e-12)
    stat = np.sum((noise / sigma2) ** 2)
    assert chi2.ppf(1e-4, noise.size) < stat < chi2.ppf(1 - 1e-4, noise.size)


def test_nonprivate_kernel_matches_numpy_gd_and_theory_radii_never_clip():
    inst = _instance(d=5)
    P, n, A, b = unpack(inst.data)
    R = 30
    res = algorithms.run_gd(inst, dict(rounds=R, step=0.0), Budget(R, 1), np.random.default_rng(0))
    x = np.zeros(5)
    gn = []
    for _ in range(R):
        _, g, _ = problems.robust_numpy(x, A, b)
        gn.append(g @ g)
        x = x - 0.5 * g
    np.testing.assert_allclose(res.final["x"], x, rtol=1e-12, atol=1e-14)
    assert res.events["utility"] == pytest.approx(np.mean(gn), rel=1e-10)
    assert res.events["utility"] <= res.events["utility_bound"]  # 4 L Delta_f / R
    d2 = algorithms.run_diff2(inst, _diff2_params(), Budget(10_000, 1), np.random.default_rng(0))
    clipped = d2.columns["clipped_fraction"]
    assert np.nanmax(clipped) == 0.0  # C1 = G and C2 = L: clipping inactive, as the theory assumes
    assert d2.events["period"] >= 1 and d2.events["epsilon_spent"] <= 1.0 + 1e-12


def test_robust_regression_constants():
    inst = _instance(d=7)
    P, n, A, b = unpack(inst.data)
    rng = np.random.default_rng(5)
    for _ in range(20):
        x, y = rng.standard_normal(7) * 3, rng.standard_normal(7) * 3
        _, _, gx = problems.robust_numpy(x, A, b)
        _, _, gy = problems.robust_numpy(y, A, b)
        assert np.max(np.linalg.norm(gx, axis=1)) <= inst.reference["G"] + 1e-12
        assert np.max(np.linalg.norm(gx - gy, axis=1)) <= inst.reference["L"] * np.linalg.norm(x - y) + 1e-12
    out = np.zeros(7)
    inst.oracles["sample_grad"](x, 3, inst.data, out)
    np.testing.assert_allclose(out, gx[3], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n in registry.scenario_paths() if n.startswith("privacy-")))
def test_scenario_quick_check_passes(name):
    sc = scenario.load(name, quick=True)
    v = rates.verdicts(sc, runner.run_jobs(sc, runner.jobs_for(sc)))
    assert not v.failed, [(b.algorithm_id, b.verdict) for b in v.bounds] + [(c.text, c.detail) for c in v.claims]


def test_benchmark_numpy_side_does_the_same_update():
    from optsandbox.privacy.bench import _numpy_diff2

    inst = _instance(d=5)
    _, _, A, b = unpack(inst.data)
    cols, x, _ = algorithms._kernel_run(inst, 0.5, 4, 0.5, 1.0, 0.0, 0.0, 25, 5, np.random.default_rng(0))
    x_np, U = _numpy_diff2(A, b, 0.5, 4, 0.5, 1.0, 0.0, 0.0, 25, np.random.default_rng(0))
    np.testing.assert_allclose(x, x_np, rtol=1e-10, atol=1e-13)
    assert cols["utility"][-1] == pytest.approx(U, rel=1e-10)
