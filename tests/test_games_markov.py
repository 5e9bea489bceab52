"""The entropy-regularized Markov game: jitted gradients against NumPy, the equilibrium, NPG and EPG."""
import math

import numpy as np
import pytest

from optsandbox.api import STATUS_BUDGET, Budget
from optsandbox.games import algorithms, markov

PARAMS = dict(gamma=0.9, tau=1.0, reward_scale=1.0, region=0.1, init_scale=0.01)


@pytest.fixture(scope="module")
def game():
    return markov.build_markov(PARAMS, np.random.default_rng(0))


def test_jitted_fields_agree_with_the_numpy_implementation(game):
    S, mu0, R1, R2, P = markov.coordination_game()
    rng = np.random.default_rng(1)
    out = np.empty(4)
    for theta in rng.normal(scale=2.0, size=(20, 4)):
        markov.markov_pseudo_grad(theta, game.data, out)
        np.testing.assert_allclose(out, markov.field_numpy(theta, S, 0.9, 1.0, mu0, R1, R2, P), rtol=1e-11,
                                   atol=1e-14)
        markov.markov_natural_grad(theta, game.data, out)
        np.testing.assert_allclose(out, markov.field_numpy(theta, S, 0.9, 1.0, mu0, R1, R2, P, natural=True),
                                   rtol=1e-11, atol=1e-14)


def test_gradient_is_minus_the_gradient_of_each_players_objective():
    """F_i = -dJ_i/dtheta_i with J_i = <d, R> + tau sum_s H(pi_i(.|s)), checked by finite differences of J."""
    S, mu0, R1, R2, P = markov.coordination_game()
    R2 = R2 * 0.5 + 0.3  # a general-sum variant: the two players' gradients must use their own rewards

    def J(theta, R, player):
        p = 1 / (1 + np.exp(-theta))
        p1, p2 = p[:S], p[S:]
        pi1, pi2 = np.stack([1 - p1, p1], 1), np.stack([1 - p2, p2], 1)
        joint = pi1[:, :, None] * pi2[:, None, :]
        Ppi = np.einsum("sab,sabt->st", joint, P)
        d = (1 - 0.9) * np.linalg.solve(np.eye(S) - 0.9 * Ppi.T, mu0)
        own = (p1, p2)[player]
        entropy = -np.sum(own * np.log(own) + (1 - own) * np.log(1 - own))
        return d @ np.einsum("sab,sab->s", joint, R) + 1.0 * entropy

    theta = np.random.default_rng(2).normal(size=4)
    F = markov.field_numpy(theta, S, 0.9, 1.0, mu0, R1, R2, P)
    eps = 1e-6
    for k in range(4):
        player = 0 if k < S else 1
        e = np.zeros(4)
        e[k] = eps
        R = R1 if player == 0 else R2
        dJ = (J(theta + e, R, player) - J(theta - e, R, player)) / (2 * eps)
        assert F[k] == pytest.approx(-dJ, abs=1e-8)


def test_equilibrium_is_the_uniform_policy_and_certified(game):
    assert np.max(np.abs(game.reference["x_star"])) < 1e-12
    assert game.reference["equilibrium_residual"] < 1e-14
    cert = game.reference["certificate_natural"]
    assert cert.certified
    # At theta* the Fisher blocks are I/4, so the natural field's Jacobian is 4 dF(theta*).
    np.testing.assert_allclose(cert.metric(), 0.25 * np.repeat(cert.weights, 2))


def test_npg_contracts_at_the_certified_rate_and_beats_epg_per_iteration(game):
    npg = algorithms.run_npg(game, dict(h=0.0, step_fraction=0.5), Budget(250, 1), None)
    epg = algorithms.run_epg(game, dict(h=0.0, step_fraction=0.5), Budget(250, 1), None)
    assert npg.status == STATUS_BUDGET and epg.status == STATUS_BUDGET
    assert npg.events["step"] == epg.events["step"]  # the same eta
    assert npg.theory["dist_M"].applicable and epg.theory["dist_M"].applicable
    assert npg.events["ratio_over_factor"] <= 1 and epg.events["ratio_over_factor"] <= 1
    assert npg.columns["dist_euclid"][-1] < 1e-3 * epg.columns["dist_euclid"][-1]
    # The KL Lyapunov function of the spec decreases along NPG (near theta* it is ||.||_M^2 / 2).
    w = game.reference["certificate_natural"].weights
    assert markov.kl_lyapunov(npg.final["x"], game.reference["x_star"], w, 2) < 1e-20


def test_npg_far_beyond_eta_max_is_reported_as_diverged(game):
    res = algorithms.run_npg(game, dict(h=0.0, step_fraction=10.0), Budget(500, 10), None)
    assert res.status != STATUS_BUDGET and 0 < res.stop_iteration < 500
    assert not res.theory["dist_M"].applicable
    assert math.isnan(res.events["ratio_over_factor"])
