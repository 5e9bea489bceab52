"""The games kernels: certified contraction step by step, agreement with plain NumPy, divergence reports."""
import math

import numpy as np
import pytest

from optsandbox.api import STATUS_BUDGET, STATUS_CONVERGED, STATUS_DIVERGED, STATUS_NON_FINITE, Budget
from optsandbox.games import algorithms, kernels, oracles, problems
from optsandbox.games import certificate as sgn

_COMMON = dict(offset=0.0, box=0.0, init_scale=1.0)


def _lq_random(seed, **over):
    p = dict(d=4, lam=1.0, a=10.0, b=0.05, **_COMMON)
    p.update(over)
    return problems.build_lq_random(p, np.random.default_rng(seed))


def _nplayer(seed, **over):
    p = dict(players=3, d=2, rho=0.8, mu_min=0.5, mu_max=2.0, asymmetry=50.0, **_COMMON)
    p.update(over)
    return problems.build_nplayer(p, np.random.default_rng(seed))


def _run(inst, scheme, steps, w_M, w_P, iterations=300, record_every=1, x0=None):
    return algorithms.simulate(inst, scheme, np.asarray(steps, float), 1.0, w_M, w_P,
                               Budget(iterations, record_every), x0=x0)


def test_certified_contraction_holds_at_every_step_on_random_games():
    rng = np.random.default_rng(11)
    games = [_lq_random(s) for s in range(4)] + [_nplayer(s) for s in range(4)]
    # Constrained variants: x* inside a small box, x0 outside it, so the projection is active.
    games += [_lq_random(9, offset=0.2, box=0.4, init_scale=3.0), _nplayer(9, offset=0.2, box=0.4, init_scale=3.0)]
    for inst in games:
        cert = sgn.certify(inst.data, rk4=False)
        assert cert.certified
        w = cert.metric()
        for _ in range(3):
            h = rng.uniform(0.02, 0.98) * cert.euler_step_max
            cols, status, _, x, _ = _run(inst, kernels.EULER, np.full(inst.dim, h), w, w)
            d = cols["dist_M"]
            d = d[d > 1e-6 * (np.linalg.norm(inst.reference["x_star"]) + 1e-294)]
            assert status == STATUS_BUDGET
            assert np.all(d[1:] <= cert.euler_factor(h) * d[:-1] * (1 + 1e-12))


def test_ttur_contracts_in_its_metric_at_every_step():
    rng = np.random.default_rng(12)
    for seed in range(4):
        inst = _lq_random(seed)
        cert = sgn.certify(inst.data, rk4=False)
        for ratio in (0.1, 3.0):
            rel = algorithms.ttur_steps(cert, ratio)
            b, safe = algorithms.ttur_constants(inst, cert, rel)
            h = rng.uniform(0.1, 0.95) * safe
            w_P = cert.metric() / rel
            cols, _, _, _, _ = _run(inst, kernels.EULER, h * rel, cert.metric(), w_P)
            factor = math.sqrt(1 - 2 * cert.alpha_star * h * rel.min() + (h * b) ** 2)
            d = cols["dist_P"]
            assert np.all(d[1:] <= factor * d[:-1] * (1 + 1e-12))


def test_euclidean_test_fails_sgn_certifies_and_gradient_play_converges():
    inst = problems.build_toy2d(dict(mu1=1.0, mu2=1.0, a=10.0, b=0.05, x0=[0.15, -0.15], **_COMMON),
                                np.random.default_rng(0))
    cert = sgn.certify(inst.data)
    assert cert.euclid_margin < 0 < cert.alpha_star
    assert cert.euclid_margin == pytest.approx(inst.reference["euclid_margin_closed_form"], abs=1e-12)
    params = dict(h=0.0, step_fraction=0.9, weights="margin")
    res = algorithms.run_sgn_euler(inst, params, Budget(3000, 100), None)
    assert res.status in (STATUS_BUDGET, STATUS_CONVERGED)
    assert res.columns["dist_euclid"][-1] < 1e-10 * res.columns["dist_euclid"][0]
    assert res.theory["dist_M"].applicable
    assert res.events["ratio_over_factor"] <= 1.0


def _numpy_dynamics(H, c, lo, hi, kappa, x0, steps, scheme, iterations):
    """The same schemes in plain NumPy (independent implementation)."""
    def F(x):
        return H @ x + c + kappa * np.tanh(x)

    x = np.clip(x0, lo, hi)
    for _ in range(iterations):
        if scheme == "euler":
            x = np.clip(x - steps * F(x), lo, hi)
        else:
            k1 = F(x)
            k2 = F(x - 0.5 * steps * k1)
            k3 = F(x - 0.5 * steps * k2)
            k4 = F(x - steps * k3)
            x = np.clip(x - steps * (k1 + 2 * k2 + 2 * k3 + k4) / 6, lo, hi)
    return x


@pytest.mark.parametrize("scheme", ["euler", "rk4"])
def test_kernel_agrees_with_plain_numpy(scheme):
    tanh = problems.build_tanh_game(dict(d=2, lam=1.0, a=10.0, b=0.05, kappa=0.5, region=1.0, init_fraction=0.9),
                                    np.random.default_rng(3))
    boxed = _nplayer(4, offset=0.2, box=0.4, init_scale=3.0)
    for inst in (tanh, boxed):
        g = oracles.unpack(inst.data)
        steps = np.linspace(0.01, 0.05, inst.dim)  # per-coordinate steps exercise the TTUR path
        ones = np.ones(inst.dim)
        cols, status, _, x, _ = _run(inst, kernels.SCHEMES[scheme], steps, ones, ones, iterations=57,
                                     record_every=10)
        ref = _numpy_dynamics(g["H"], g["c"], g["lo"], g["hi"], g["kappa"], inst.reference["x0"], steps,
                              scheme, 57)
        assert status == STATUS_BUDGET
        np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-14)
        assert cols["iteration"][-1] == 57
        assert cols["grad_calls"][-1] == 57 * (4 if scheme == "rk4" else 1)
        assert cols["dist_euclid"][-1] == pytest.approx(np.linalg.norm(ref - inst.reference["x_star"]), rel=1e-10)


def test_divergence_is_reported_not_raised():
    inst = problems.build_lq(dict(d=3, lam=1.0, a=10.0, b=0.05, mix=0.0, **_COMMON), np.random.default_rng(0))
    res = algorithms.run_sgn_euler(inst, dict(h=0.0, step_fraction=10.0, weights="margin"), Budget(5000, 50),
                                   None)
    assert res.status in (STATUS_DIVERGED, STATUS_NON_FINITE)
    assert 0 < res.stop_iteration < 5000
    assert res.columns["iteration"][-1] == res.stop_iteration
    assert not res.theory["dist_M"].applicable
    assert "outside the certified range" in res.theory["dist_M"].condition
    # No certificate at all: lambda = 3.
    inst = problems.build_lq(dict(d=3, lam=3.0, a=10.0, b=0.05, mix=0.0, **_COMMON), np.random.default_rng(0))
    res = algorithms.run_sgn_euler(inst, dict(h=0.5, step_fraction=0.5, weights="margin"), Budget(2000, 50), None)
    assert res.status in (STATUS_DIVERGED, STATUS_NON_FINITE)
    assert "no SGN certificate" in res.theory["dist_M"].condition


def test_nonlinear_game_converges_inside_its_certified_region():
    inst = problems.build_tanh_game(dict(d=2, lam=1.0, a=10.0, b=0.05, kappa=0.5, region=1.0, init_fraction=0.9),
                                    np.random.default_rng(5))
    res = algorithms.run_sgn_euler(inst, dict(h=0.0, step_fraction=0.5, weights="margin"), Budget(2000, 20), None)
    assert res.theory["dist_M"].applicable
    assert res.events["ratio_over_factor"] <= 1.0
    assert np.max(np.abs(res.final["x"])) < 1e-12
    again = algorithms.run_sgn_euler(inst, dict(h=0.0, step_fraction=0.5, weights="margin"), Budget(2000, 20), None)
    np.testing.assert_array_equal(res.columns["dist_M"], again.columns["dist_M"])  # deterministic


def test_rk4_factor_is_certified_on_linear_games():
    inst = _lq_random(2)
    res = algorithms.run_sgn_rk4(inst, dict(h=0.0, step_fraction=1.0, weights="margin"), Budget(200, 1), None)
    kappa = res.events["rk4_factor"]
    assert res.theory["dist_M"].applicable and kappa < 1
    d = res.columns["dist_M"]
    assert np.all(d[1:] <= kappa * d[:-1] * (1 + 1e-12))
