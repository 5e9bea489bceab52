"""Mathematical facts of the classification family (Tyurin 2024; Novikoff 1962)."""
import math
from fractions import Fraction

import numpy as np
import pytest

from optsandbox.api import STATUS_CONVERGED, Budget
from optsandbox.classification import algorithms as A
from optsandbox.classification import kernels as K
from optsandbox.classification import problems as P

C4 = {"n": 120, "d": 6, "offset": 3.0, "s_max": 1.0, "s_min": 10 ** -1.5, "tau": 0.05, "pos_fraction": 0.0}
C5 = {"n": 31, "offset": 3.0, "tau": 0.05, "pos_fraction": 0.0, "min_path_length": 3}
NO_LIMIT = {"track_limit": False, "stop_at_separation": True}


def rng(seed=0):
    return np.random.default_rng(seed)


def exact_batch_perceptron_tsep(n: int) -> int:
    """T_sep of the Batch Perceptron on C2 in exact rational arithmetic (half first step, '<= 0')."""
    lone, other = (Fraction(1, 2), Fraction(-1)), (Fraction(1, 2), Fraction(1))
    theta = [(lone[j] + (n - 1) * other[j]) / (2 * n) for j in range(2)]
    for t in range(1, 10 * n):
        z_lone = lone[0] * theta[0] + lone[1] * theta[1]
        z_other = other[0] * theta[0] + other[1] * theta[1]
        if z_lone > 0 and z_other > 0:
            return t
        step = [Fraction(0), Fraction(0)]
        if z_lone <= 0:
            step = [step[j] + lone[j] for j in range(2)]
        if z_other <= 0:
            step = [step[j] + (n - 1) * other[j] for j in range(2)]
        theta = [theta[j] + step[j] / n for j in range(2)]
    raise AssertionError("no separation")


def test_margin_by_nnls_matches_closed_forms():
    c1 = P.build_two_point({}, rng())
    assert c1.reference["mu_lo"] == pytest.approx(1.0, abs=1e-12)
    assert c1.reference["mu_hi"] == pytest.approx(1.0, abs=1e-12)
    assert c1.reference["R"] ** 2 == pytest.approx(17.0)
    c2 = P.build_lower_bound({"n": 101, "lone_first": True}, rng())
    assert c2.reference["mu_lo"] == pytest.approx(0.5, abs=1e-12)
    assert c2.reference["R2_over_mu2"] == pytest.approx(5.0, rel=1e-12)


def test_margin_bracket_is_tight_and_certified_on_random_data():
    for seed in range(3):
        inst = P.build_offset_anisotropic(C4, rng(seed))
        B = inst.data[2:2 + 120 * 6].reshape(120, 6)
        w = inst.reference["max_margin_direction"]
        assert np.min(B @ w) == pytest.approx(inst.reference["mu_lo"])  # mu_lo is attained by a unit vector
        assert inst.reference["mu_hi"] - inst.reference["mu_lo"] <= 1e-9 * inst.reference["mu_hi"]


@pytest.mark.parametrize("n", [11, 33, 101, 333, 1001])
def test_batch_perceptron_on_the_lower_bound_dataset_matches_exact_arithmetic(n):
    inst = P.build_lower_bound({"n": n, "lone_first": True}, rng())
    r = A.run_batch_perceptron(inst, {}, Budget(10 * n, 1), rng())
    expected = exact_batch_perceptron_tsep(n)
    assert expected == (3 * n + 2) // 10 + 1  # the spec's closed form
    assert r.events["iterations_to_separation"] == expected
    assert r.status == STATUS_CONVERGED


def test_first_limit_step_is_exact_for_every_gamma():
    """theta_1 / gamma equals the Batch Perceptron's half step (1/2n) sum b_i, whatever gamma."""
    inst = P.build_generic_2d(C5, rng(3))
    B = inst.data[2:2 + 31 * 2].reshape(31, 2)
    for gamma in (1e-3, 1.0, 1e3, 1e9):
        _, _, theta, _ = A.batch_path(inst, K.LOGISTIC, gamma, 1, 1, stop_at_separation=False)
        np.testing.assert_allclose(theta / gamma, B.mean(axis=0) / 2, rtol=1e-14, atol=1e-15)
        _, _, theta, _ = A.batch_path(inst, K.NORMALIZED_LOGISTIC, gamma, 1, 1, stop_at_separation=False)
        np.testing.assert_allclose(theta / gamma, B.mean(axis=0), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_large_gamma_limit_reaches_machine_precision(seed):
    """Thm 3.2: theta_t / gamma -> theta_hat_t; at gamma = 1e8 the whole path agrees to rounding, and
    LR+GD separates at exactly the Batch Perceptron's T_sep."""
    inst = P.build_generic_2d(C5, rng(seed))
    bp = A.run_batch_perceptron(inst, {}, Budget(500, 1), rng())
    for run, limit in ((A.run_lr_gd, bp),
                       (A.run_normalized_lr_gd, A.run_normalized_batch_perceptron(inst, {}, Budget(500, 1), rng()))):
        r = run(inst, {"gamma": 1e8, "track_limit": True, "stop_at_separation": True}, Budget(500, 1), rng())
        assert r.events["max_limit_path_gap"] < 1e-12
        assert r.events["iterations_to_separation"] == limit.events["iterations_to_separation"]
        th = r.theory["max_limit_path_gap"]
        assert th.applicable and r.events["max_limit_path_gap"] <= th.value


def test_limit_gap_shrinks_with_gamma_and_respects_the_quantitative_bound():
    inst = P.build_generic_2d(C5, rng(1))
    gaps = []
    for gamma in (1e2, 1e4, 1e5, 1e6):
        r = A.run_lr_gd(inst, {"gamma": gamma, "track_limit": True, "stop_at_separation": True},
                        Budget(500, 1), rng())
        gaps.append(r.events["max_limit_path_gap"])
        th = r.theory["max_limit_path_gap"]
        if th.applicable:
            assert r.events["max_limit_path_gap"] <= th.value
    assert gaps[-1] < 1e-3 * gaps[0]


@pytest.mark.parametrize("seed", range(4))
def test_separation_bounds_hold_on_random_separable_data(seed):
    for build, params in ((P.build_offset_anisotropic, C4), (P.build_generic_2d, C5),
                          (P.build_gaussian_plane, {"n": 200, "d": 5, "tau": 0.05})):
        inst = build(params, rng(seed))
        n, R, mu = inst.reference["n"], inst.reference["R"], inst.reference["mu_lo"]
        budget = Budget(200_000, 1000)
        bp = A.run_batch_perceptron(inst, {}, budget, rng())
        nbp = A.run_normalized_batch_perceptron(inst, {}, budget, rng())
        assert 1 <= bp.events["iterations_to_separation"] <= n * R ** 2 / mu ** 2
        assert 1 <= nbp.events["iterations_to_separation"] <= R ** 2 / mu ** 2
        for gamma in (0.1, 1.0, 100.0):
            r = A.run_normalized_lr_gd(inst, {"gamma": gamma, **NO_LIMIT}, budget, rng())
            bound = R ** 2 / mu ** 2 + 2 * math.log(2 * n - 1) / (gamma * mu ** 2)
            assert 1 <= r.events["iterations_to_separation"] <= bound
            assert r.theory["iterations_to_separation"].value == pytest.approx(bound)
        for selection in ("cyclic", "random_order", "first", "most_violated"):
            r = A.run_perceptron(inst, {"selection": selection}, Budget(200_000, 100), rng(seed))
            assert 1 <= r.events["updates_to_separation"] <= R ** 2 / mu ** 2
            theta = r.final["theta"]
            B = inst.data[2:2 + int(inst.data[0]) * int(inst.data[1])].reshape(int(inst.data[0]), -1)
            assert np.all(B @ theta > 0)  # the returned separator really separates


def test_normalized_batch_perceptron_steps_lie_between_mu_and_r():
    """Each step is a convex combination of the b_i: mu <= ||step|| <= R (spec 5.4)."""
    inst = P.build_offset_anisotropic(C4, rng(5))
    _, path, _, info = A.batch_path(inst, K.NORMALIZED_PERCEPTRON, 1.0, 10_000, 1, keep_path=True)
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    assert np.all(steps >= inst.reference["mu_lo"] * (1 - 1e-12))
    assert np.all(steps <= inst.reference["R"] * (1 + 1e-12))


def test_kernel_agrees_with_an_independent_numpy_batch_perceptron():
    for seed in range(3):
        inst = P.build_offset_anisotropic(C4, rng(seed))
        B = inst.data[2:2 + 120 * 6].reshape(120, 6)
        r = A.run_batch_perceptron(inst, {}, Budget(100_000, 100), rng())
        assert r.events["iterations_to_separation"] == P.batch_perceptron_numpy(B, np.ones(120), 100_000)


def test_huge_step_is_stable():
    """gamma = 1e12: margins reach ~1e12, exp would overflow; every recorded value stays finite."""
    inst = P.build_offset_anisotropic(C4, rng(0))
    budget = Budget(20_000, 1)
    limits = (A.run_batch_perceptron(inst, {}, budget, rng()),
              A.run_normalized_batch_perceptron(inst, {}, budget, rng()))
    for run, limit in zip((A.run_lr_gd, A.run_normalized_lr_gd), limits):
        r = run(inst, {"gamma": 1e12, "track_limit": False, "stop_at_separation": False}, budget, rng())
        for name in ("loss", "grad_norm", "theta_norm", "misclassified"):
            assert np.all(np.isfinite(r.columns[name])), name
        assert r.columns["loss"].max() > 1e9  # losses of order gamma are genuine values
        assert r.status in (0, 1) and r.stop_iteration == 20_000  # whole budget: no NaN, no overflow
        # at this gamma the run is the limit method: it separates at the same iteration
        assert r.events["iterations_to_separation"] == limit.events["iterations_to_separation"] > 0


def test_loss_rises_then_separates_on_the_two_point_dataset():
    """Thm 4.1: f(theta_1) is of order gamma, ||grad f(theta_1)|| -> sqrt(2)/2, theta_2 separates."""
    inst = P.build_two_point({}, rng())
    for gamma in (10.0, 100.0, 1e4):
        r = A.run_lr_gd(inst, {"gamma": gamma, **NO_LIMIT}, Budget(10, 1), rng())
        loss, grad = r.columns["loss"], r.columns["grad_norm"]
        assert loss[0] == pytest.approx(math.log(2))
        assert loss[1] > loss[0]
        assert loss[1] / gamma == pytest.approx(0.25 / 2, rel=0.05)  # (1/n) sum over S_1 of -z_i / gamma
        assert list(r.columns["misclassified"]) == [2, 1, 0]
        assert r.events["iterations_to_separation"] == 2
    r = A.run_lr_gd(inst, {"gamma": 1e4, **NO_LIMIT}, Budget(10, 1), rng())
    assert r.columns["grad_norm"][1] == pytest.approx(math.sqrt(2) / 2, rel=1e-9)


def test_random_order_perceptron_is_deterministic_per_seed():
    inst = P.build_offset_anisotropic(C4, rng(2))
    a = A.run_perceptron(inst, {"selection": "random_order"}, Budget(10_000, 10), rng(7))
    b = A.run_perceptron(inst, {"selection": "random_order"}, Budget(10_000, 10), rng(7))
    np.testing.assert_array_equal(a.final["theta"], b.final["theta"])
    assert a.events == b.events


def test_log_domain_normalized_weights_never_overflow():
    """beta_t from 1/mean(w) would be inf once every margin exceeds ~745; the log form stays finite."""
    z = np.array([800.0, 900.0, 1e6])
    c = np.ones(3)
    logs = np.empty(3)
    log_beta = K.log_weights(z, c, 3.0, logs)
    assert np.isfinite(log_beta) and log_beta == pytest.approx(math.log(3) + 800.0, rel=1e-12)
