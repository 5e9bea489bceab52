"""Mathematical facts of the online family: comparators and projections against scipy, sigma / Sigma
closed forms against Monte Carlo, agreement with plain NumPy learners, regret under the bounds on every
regime of the environment for several seeds, and the family's scenarios."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from optsandbox.api import Budget
from optsandbox.online import algorithms, kernels, oracles, problems

BASE = dict(d=6, R=1.0, q_power=2.0, q_floor=0.0, c_norm=0.5, c_along="uniform", regime="iid", noise=0.0,
            noise_decay=0.25, switch_power=0.5, nonconvex=0.0, v_norm=2.0)
PARAMS = dict(delta_scale=1.0, t0=-1, mode="convex", nu_scale=1.0)


def env(seed=0, **kw):
    return problems.build_sea_quadratic({**BASE, **kw}, np.random.default_rng(seed))


def play(name, inst, T=2000, record_every=100, seed=1, **params):
    return getattr(algorithms, f"run_{name}")(inst, {**PARAMS, **params}, Budget(T, record_every),
                                              np.random.default_rng(seed))


def centers(inst, T):
    c = np.empty((T, inst.dim))
    s = np.empty(T)
    for t in range(1, T + 1):
        s[t - 1] = oracles.schedule(t, inst.data, c[t - 1])
    return c, s


def ball(R):
    return {"type": "ineq", "fun": lambda x: R * R - x @ x, "jac": lambda x: -2 * x}


# ---------------------------------------------------------------------------------------------------
# Closed forms against independent solvers


def test_ball_quadratic_min_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(10):
        q = rng.random(5) + 0.01
        b = rng.standard_normal(5) * rng.choice([0.1, 10.0])
        t = float(rng.integers(1, 50))
        x = np.empty(5)
        value = kernels.ball_quadratic_min(t, q, b, 1.0, x)
        res = minimize(lambda y: 0.5 * t * y @ (q * y) - b @ y, np.zeros(5), jac=lambda y: t * q * y - b,
                       constraints=[ball(1.0)], method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
        assert value == pytest.approx(res.fun, abs=1e-7)
        assert value <= res.fun + 1e-9  # the closed form is the exact minimum


def test_metric_projection_matches_scipy():
    rng = np.random.default_rng(1)
    for _ in range(10):
        G = rng.standard_normal((4, 4))
        U = G @ G.T + 0.1 * np.eye(4)
        y = rng.standard_normal(4) * 2
        x = np.empty(4)
        kernels.project_ball_metric(U, y, 1.0, x)
        res = minimize(lambda z: (z - y) @ U @ (z - y), np.zeros(4), jac=lambda z: 2 * U @ (z - y),
                       constraints=[ball(1.0)], method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
        np.testing.assert_allclose(x, res.x, atol=1e-5)


def test_rank_one_updates_keep_the_inverse():
    rng = np.random.default_rng(2)
    A, A_inv, work = 3.0 * np.eye(5), np.eye(5) / 3.0, np.empty(5)
    for _ in range(200):
        kernels.rank_one_update(A, A_inv, rng.standard_normal(5), 0.7, work)
    np.testing.assert_allclose(A_inv, np.linalg.inv(A), rtol=1e-8, atol=1e-12)


def test_sigma1_is_the_supremum_over_the_ball():
    for kw in ({}, {"c_along": "stiff"}, {"regime": "random_sign", "q_floor": 0.3}):
        inst = env(**kw)
        q, c1 = inst.reference["q"], problems.first_center(inst.data)
        z = np.random.default_rng(3).standard_normal((200000, inst.dim))
        x = z / np.linalg.norm(z, axis=1, keepdims=True)
        sampled = np.max(np.sum((q * (x - c1)) ** 2, axis=1))
        best = -minimize(lambda y: -np.sum((q * (y - c1)) ** 2), -c1 / np.linalg.norm(c1),
                         constraints=[ball(1.0)], method="SLSQP").fun
        assert inst.reference["sigma1_sq"] >= sampled - 1e-12
        assert inst.reference["sigma1_sq"] == pytest.approx(best, rel=1e-6)


# ---------------------------------------------------------------------------------------------------
# sigma and Sigma against Monte Carlo


def test_noise_variance_matches_monte_carlo():
    inst = env(noise=0.7, regime="decaying", noise_decay=0.3)
    _, s = centers(inst, 50)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(inst.dim) * 0.3
    for t in (1, 10, 50):
        # sigma_t^2 = sup_x E ||grad f_t(x) - grad F_t(x)||^2, the noise drawn as the kernel draws it
        z = rng.standard_normal((20000, inst.dim))
        xi = s[t - 1] * z / np.linalg.norm(z, axis=1, keepdims=True)
        q, c = inst.reference["q"], inst.reference["c"]
        g = q * (x - c) + xi
        mc = np.mean(np.sum((g - q * (x - c)) ** 2, axis=1))
        assert mc == pytest.approx(0.49 * t ** -0.6, rel=1e-9)
    res = play("oomd", inst, T=50, record_every=1)
    last = res.columns["cum_sigma2"][-1]
    assert last == pytest.approx(0.49 * np.sum(np.arange(1, 51) ** -0.6), rel=1e-12)


def test_nonconvex_components_have_the_stated_variance_and_negative_curvature():
    inst = env(q_power=0.0, nonconvex=0.5, v_norm=2.0)
    q, c, d = inst.reference["q"], inst.reference["c"], inst.dim
    v = np.zeros(d)
    v[-1] = 2.0

    def grad(x, xi):
        return q * (x - c) + xi * 0.5 * np.cos(v @ x) * v

    # sigma_t^2 = sup_x E_xi ||grad f(x, xi) - grad F(x)||^2 by Monte Carlo over xi, on a grid of <v, x>
    rng = np.random.default_rng(9)
    xis = rng.choice([-1.0, 1.0], size=20000)
    best = 0.0
    for s in np.linspace(-2.0, 2.0, 41):
        x = np.zeros(d)
        x[-1] = s / 2.0
        mc = np.mean([np.sum((grad(x, xi) - q * (x - c)) ** 2) for xi in xis[:2000]])
        best = max(best, mc)
    assert best == pytest.approx(0.25 * 4.0, rel=1e-9)  # attained at <v, x> = 0
    res = play("oomd", inst, T=100, record_every=100)
    assert res.columns["cum_sigma2"][-1] == pytest.approx(100 * 1.0)
    # an individual loss is nonconvex: finite-difference Hessian along v at <v, x> = pi/2, xi = +1
    x = np.zeros(d)
    x[-1] = math.pi / 4.0
    h = 1e-5
    curvature = (grad(x + h * v / 2, 1.0) - grad(x - h * v / 2, 1.0)) @ (v / 2) / (2 * h)
    assert curvature == pytest.approx(inst.reference["min_component_curvature"], abs=1e-6)
    assert curvature < 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_sign_drift_variation_matches_its_expectation(seed):
    inst = env(seed, regime="random_sign", c_along="stiff")
    T = 4000
    res = play("ogd", inst, T=T, record_every=T)
    qc2 = inst.reference["Qc_sq"]
    # each of the T - 1 sign changes happens with probability 1/2 and adds 4 ||Qc||^2
    mean, sd = 2.0 * (T - 1) * qc2, 4.0 * qc2 * math.sqrt((T - 1) / 4.0)
    assert abs(res.columns["cum_Sigma2_from2"][-1] - mean) < 4 * sd
    assert res.columns["cum_Sigma2"][-1] == pytest.approx(res.columns["cum_Sigma2_from2"][-1]
                                                          + inst.reference["sigma1_sq"])


def test_switching_drift_has_floor_t_kappa_switches():
    inst = env(regime="switching", switch_power=0.5, c_along="stiff")
    T = 2500
    res = play("ogd", inst, T=T, record_every=T)
    assert res.columns["cum_Sigma2_from2"][-1] == pytest.approx(4 * inst.reference["Qc_sq"] * (50 - 1))


# ---------------------------------------------------------------------------------------------------
# Agreement with plain NumPy learners (noise-free, so both see the same losses)


def oomd_numpy(inst, T, delta):
    r = inst.reference
    c, _ = centers(inst, T)
    q, D, G = r["q"], r["D"], r["G"]
    proj = lambda v: v * min(1.0, 1.0 / np.linalg.norm(v)) if np.linalg.norm(v) > 0 else v  # noqa: E731
    xh, m, V, regret_terms = np.zeros(inst.dim), np.zeros(inst.dim), 0.0, []
    for t in range(T):
        eta = D / math.sqrt(delta + 4 * G * G + V)
        x = proj(xh - eta * m)
        g = q * (x - c[t])
        regret_terms.append(0.5 * np.sum(q * (x - c[t]) ** 2))
        xh = proj(xh - eta * g)
        V += np.sum((g - m) ** 2)
        m = g
    return x, np.cumsum(regret_terms)


def ons_numpy(inst, T):
    r = inst.reference
    c, _ = centers(inst, T)
    gamma = 0.5 * min(1 / (4 * r["G"] * r["D"]), r["alpha"])
    A = np.eye(inst.dim) / (gamma ** 2 * r["D"] ** 2)
    x = np.zeros(inst.dim)
    for t in range(T):
        g = r["q"] * (x - c[t])
        A += np.outer(g, g)
        y = x - np.linalg.solve(A, g) / gamma
        if np.linalg.norm(y) <= 1:
            x = y
        else:
            res = minimize(lambda z: (z - y) @ A @ (z - y), y / np.linalg.norm(y), jac=lambda z: 2 * A @ (z - y),
                           constraints=[ball(1.0)], method="SLSQP", options={"ftol": 1e-15})
            x = res.x
    return x


def test_oomd_kernel_matches_numpy_on_random_sign_drift():
    inst = env(regime="random_sign", c_along="stiff")
    T = 300
    res = play("oomd", inst, T=T, record_every=1)
    x_np, cum_F = oomd_numpy(inst, T, 16 * inst.reference["L"] ** 2 * inst.reference["D"] ** 2)
    np.testing.assert_allclose(res.final["x"], x_np, atol=1e-12)
    c, _ = centers(inst, T)
    t = res.columns["T"].astype(int)
    best = np.array([min_sum(inst, c[:k]) for k in t])
    np.testing.assert_allclose(res.columns["pseudo_regret"], cum_F[t - 1] - best, atol=1e-7)


def min_sum(inst, cs):
    q = inst.reference["q"]
    f = lambda x: 0.5 * np.sum(q * (x - cs) ** 2)  # noqa: E731
    res = minimize(f, cs.mean(axis=0), jac=lambda x: q * (len(cs) * x - cs.sum(axis=0)),
                   constraints=[ball(1.0)], method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
    return res.fun


def test_ons_kernel_matches_numpy():
    inst = env(regime="random_sign", c_along="stiff", q_floor=0.5)
    res = play("ons", inst, T=60, record_every=60)
    np.testing.assert_allclose(res.final["x"], ons_numpy(inst, 60), atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# Regret under the bounds, every regime, several seeds

REGIMES = [dict(regime="iid", noise=0.0), dict(regime="iid", noise=0.5),
           dict(regime="decaying", noise=1.0, noise_decay=0.25),
           dict(regime="switching", c_along="stiff"), dict(regime="random_sign", c_along="stiff", noise=0.2),
           dict(regime="random_sign", nonconvex=0.5)]


@pytest.mark.parametrize("regime", REGIMES, ids=lambda r: "-".join(f"{v}" for v in r.values()))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oomd_regret_stays_under_its_bound_on_every_regime(regime, seed):
    inst = env(seed, q_power=0.0, **regime)
    res = play("oomd", inst, T=5000, record_every=250, seed=seed)
    # Working form of the bound with unit constants: D (sqrt(sigma^2_{1:t}) + sqrt(Sigma^2_{1:t})) + L D^2 + D G
    assert np.all(res.columns["pseudo_regret"] <= res.columns["variation_bound"])
    if regime.get("nonconvex", 0.0) > 0:  # E3: no closed-form realized comparator; OGD's theorem does not apply
        assert np.all(np.isnan(res.columns["realized_regret"]))
        return
    assert np.all(res.columns["realized_regret"] <= res.columns["variation_bound"])
    # Hazan's deterministic bounds for the baselines on the same losses
    assert play("ogd", inst, T=5000, record_every=250, seed=seed).events["max_regret_ratio"] <= 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_strongly_convex_and_exp_concave_baselines_obey_their_bounds(seed):
    inst = env(seed, q_floor=0.5, noise=0.5)
    assert play("ogd", inst, T=3000, mode="strongly_convex").events["max_regret_ratio"] <= 1.0
    assert play("ons", inst, T=3000).events["max_regret_ratio"] <= 1.0


def test_oomd_plateaus_without_noise_and_drift_while_ogd_grows():
    inst = env(d=20)
    a = play("oomd", inst, T=20000, record_every=1000)
    b = play("ogd", inst, T=20000, record_every=1000)
    half = np.searchsorted(a.columns["T"], 10000)
    assert a.columns["pseudo_regret"][-1] < 1.05 * a.columns["pseudo_regret"][half]
    assert b.columns["pseudo_regret"][-1] > 1.1 * b.columns["pseudo_regret"][half]


def test_every_online_scenario_passes_its_quick_check():
    from optsandbox import rates, registry, runner, scenario

    names = [n for n, p in registry.scenario_paths().items() if p.parent.name == "online"]
    assert len(names) >= 5
    for name in names:
        sc = scenario.load(name, quick=True)
        v = rates.verdicts(sc, runner.run_jobs(sc, runner.jobs_for(sc)))
        failures = [(b.algorithm_id, b.verdict) for b in v.bounds if b.violation]
        failures += [c.text for c in v.claims if c.holds is False]
        assert not failures, (name, failures)
