"""Mathematical facts of the Small-Gain Nash certificate (optsandbox.games.certificate); no kernels run."""
import math

import numpy as np
import pytest

from optsandbox.games import certificate as sgn
from optsandbox.games import oracles, problems


def _random_two_player(rng):
    mu = rng.uniform(0.2, 3.0, size=2)
    L = np.zeros((2, 2))
    L[0, 1], L[1, 0] = rng.uniform(0.01, 3.0, size=2)
    return mu, L


def _random_n_player(rng, n):
    mu = rng.uniform(0.2, 3.0, size=n)
    L = rng.uniform(0.0, 1.5, size=(n, n)) * (rng.random((n, n)) < 0.8)
    np.fill_diagonal(L, 0.0)
    return mu, L


def test_two_player_closed_form_equals_bisection():
    rng = np.random.default_rng(1)
    for _ in range(100):
        mu, L = _random_two_player(rng)
        closed = sgn.best_margin_two(mu, L)
        assert sgn.best_margin(mu, L) == pytest.approx(closed, abs=1e-11 * (1 + abs(closed)))
        r_star = L[0, 1] / L[1, 0]
        assert sgn.margin(mu, L, [1.0, r_star]) == pytest.approx(closed, abs=1e-12 * (1 + abs(closed)))
        # No weight ratio beats the closed form.
        for r in np.exp(rng.uniform(-8, 8, size=50)):
            assert sgn.margin(mu, L, [1.0, r]) <= closed + 1e-12


def test_perron_weights_attain_the_best_margin_for_n_players():
    rng = np.random.default_rng(2)
    for n in (3, 4, 5):
        for _ in range(20):
            mu, L = _random_n_player(rng, n)
            w, alpha_max = sgn.optimal_weights(mu, L)
            assert np.all(w > 0)
            assert sgn.margin(mu, L, w) == pytest.approx(alpha_max, abs=1e-6 * (1 + abs(alpha_max)))
            # A random search over weights never exceeds alpha_max.
            trials = np.exp(rng.uniform(-6, 6, size=(200, n)))
            best = max(sgn.margin(mu, L, t) for t in trials)
            assert best <= alpha_max + 1e-10


def test_m_matrix_criterion_agrees_with_existence_of_weights():
    rng = np.random.default_rng(3)
    seen = {True: 0, False: 0}
    for _ in range(100):
        n = int(rng.integers(2, 5))
        mu, L = _random_n_player(rng, n)
        certifiable = sgn.is_m_matrix(mu, L)
        seen[certifiable] += 1
        K = np.diag(mu) - L
        # Independent characterization: a Z-matrix is a nonsingular M-matrix iff its eigenvalues have
        # positive real parts.
        assert certifiable == bool(np.min(np.linalg.eigvals(K).real) > 0)
        if certifiable:
            w, _ = sgn.optimal_weights(mu, L)
            assert sgn.margin(mu, L, w) > 0
        else:
            assert sgn.best_margin(mu, L) <= 1e-12
            trials = np.exp(rng.uniform(-8, 8, size=(400, n)))
            assert max(sgn.margin(mu, L, t) for t in trials) <= 1e-12
    assert seen[True] > 15 and seen[False] > 15  # both cases exercised


def test_band_edges_are_where_the_margin_crosses_the_target():
    rng = np.random.default_rng(4)
    for _ in range(100):
        mu, L = _random_two_player(rng)
        alpha_max = sgn.best_margin_two(mu, L)
        if alpha_max <= 0:
            assert sgn.band(mu, L, 0.0) is None
            continue
        target = rng.uniform(0.0, 0.95) * alpha_max
        lo, hi = sgn.band(mu, L, target)
        scale = 1 + abs(target)
        assert sgn.margin(mu, L, [1, lo]) == pytest.approx(target, abs=1e-9 * scale)
        assert sgn.margin(mu, L, [1, hi]) == pytest.approx(target, abs=1e-9 * scale)
        assert sgn.margin(mu, L, [1, math.sqrt(lo * hi)]) > target
        assert sgn.margin(mu, L, [1, 0.9 * lo]) < target
        assert sgn.margin(mu, L, [1, 1.1 * hi]) < target
        assert lo <= L[0, 1] / L[1, 0] <= hi


@pytest.mark.parametrize("lam", [0.1, 0.5, 1.0, 1.3, 2.0])
def test_canonical_lq_closed_forms(lam):
    params = dict(d=5, lam=lam, a=10.0, b=0.05, mix=0.0, offset=0.0, box=0.0, init_scale=1.0)
    inst = problems.build_lq(params, np.random.default_rng(5))
    cert = sgn.certify(inst.data)
    c = lam * math.sqrt(0.5)
    assert cert.euclid_margin == pytest.approx(1 - lam * 10.05 / 2, abs=1e-10)
    assert cert.alpha_max == pytest.approx(1 - c, abs=1e-10)
    assert cert.alpha_star == pytest.approx(1 - c, abs=1e-10)
    assert cert.alpha_true == pytest.approx(1 - c, abs=1e-10)  # SGN is exact on the clean LQ game
    assert cert.beta == pytest.approx(1 + c, abs=1e-10)
    assert cert.certified == (lam < 1 / math.sqrt(0.5))
    assert cert.euclid_certified == (lam < 2 / 10.05)
    if cert.certified:
        assert cert.euler_step_max == pytest.approx(2 * (1 - c) / (1 + c) ** 2, rel=1e-10)
        assert cert.euler_threshold == pytest.approx(2 / (1 + c), rel=1e-10)
        assert cert.rk4_threshold == pytest.approx(sgn.RK4_REAL_AXIS / (1 + c), rel=1e-9)
        assert cert.euler_step_max < cert.euler_threshold  # the certified range is conservative


def test_rk4_real_axis_interval():
    assert sgn.rk4_threshold(np.eye(3)) == pytest.approx(sgn.RK4_REAL_AXIS, rel=1e-10)
    z = sgn.RK4_REAL_AXIS
    assert abs(1 - z + z * z / 2 - z ** 3 / 6 + z ** 4 / 24) == pytest.approx(1.0, abs=1e-12)


def test_block_bound_never_exceeds_the_true_metric_margin():
    rng = np.random.default_rng(6)
    for seed in range(10):
        p = dict(players=3, d=3, rho=0.7, mu_min=0.5, mu_max=2.0, asymmetry=20.0, offset=0.0, box=0.0,
                 init_scale=1.0)
        inst = problems.build_nplayer(p, np.random.default_rng(seed))
        cert = sgn.certify(inst.data, rk4=False)
        assert cert.small_gain_ratio == pytest.approx(0.7, rel=1e-10)
        for _ in range(5):
            w = np.exp(rng.uniform(-3, 3, size=3))
            assert sgn.alpha_true(inst.reference["H"], w, cert.offsets) >= sgn.margin(cert.mu, cert.L, w) - 1e-12


def test_sampled_constants_of_the_tanh_game_are_exact():
    params = dict(d=2, lam=1.0, a=10.0, b=0.05, kappa=0.5, region=0.8, init_fraction=0.9)
    inst = problems.build_tanh_game(params, np.random.default_rng(7))
    cert = inst.reference["certificate"]
    assert cert.rigorous
    assert cert.mu == pytest.approx(np.full(2, 1 + 0.5 / math.cosh(0.8) ** 2), abs=1e-12)
    assert cert.L[0, 1] == pytest.approx(10.0, rel=1e-12) and cert.L[1, 0] == pytest.approx(0.05, rel=1e-12)
    # Denser random sampling of the box never finds a larger beta or a smaller own curvature.
    rng = np.random.default_rng(8)
    J = np.empty((4, 4))
    for x in rng.uniform(-0.8, 0.8, size=(400, 4)):
        oracles.jacobian(np.ascontiguousarray(x), inst.data, J)
        assert sgn.beta_of(J, cert.weights, cert.offsets) <= cert.beta + 1e-12
        mu, _ = sgn.block_constants(J, cert.offsets)
        assert np.all(mu >= cert.mu - 1e-12)
    # x0's M-ball lies inside the region.
    w = cert.metric()
    assert math.sqrt(np.sum(w * inst.reference["x0"] ** 2)) <= 0.8 * math.sqrt(w.min()) + 1e-12
