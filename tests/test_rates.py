"""Rate fitting on synthetic curves with known exponents, verdict logic, and the claim grammar."""
import math

import numpy as np
import pytest

from optsandbox import claims, rates


@pytest.mark.parametrize("p", [-2.0, -1.0, -0.5, 0.5, 1.0])
def test_fit_power_recovers_exponent_with_noise(p):
    rng = np.random.default_rng(1)
    t = np.arange(1, 2001, dtype=float)
    y = 3.0 * t ** p * np.exp(0.05 * rng.standard_normal(t.size))  # 5% multiplicative noise
    assert rates.fit_power(t, y, tail=0.5) == pytest.approx(p, abs=0.02)


@pytest.mark.parametrize("r", [0.01, 0.1, 1.0])
def test_fit_exp_recovers_rate_with_noise(r):
    rng = np.random.default_rng(2)
    t = np.linspace(0, 20 / r, 400)
    y = 5.0 * np.exp(-r * t) * np.exp(0.05 * rng.standard_normal(t.size))
    assert rates.fit_exp(t, y, tail=0.5) == pytest.approx(r, rel=0.03)


def test_fit_ignores_nonpositive_and_nonfinite_points():
    t = np.arange(1, 101, dtype=float)
    y = t ** -1.0
    y[10] = np.nan
    y[20] = 0.0
    y[30] = np.inf
    assert rates.fit_power(t, y, tail=1.0) == pytest.approx(-1.0, abs=1e-12)
    assert math.isnan(rates.fit_power([1.0], [1.0]))


def test_fit_log_distinguishes_log_from_power_growth():
    t = np.arange(2, 5001, dtype=float)
    assert abs(rates.fit_log(t, 3 * np.log(t))) < 1e-9
    assert rates.fit_log(t, np.sqrt(t)) > 0.3


@pytest.mark.parametrize("form,measured,theory,verdict", [
    ("power", -1.5, -1.0, rates.FASTER),
    ("power", -1.05, -1.0, rates.MATCHES),
    ("power", -0.5, -1.0, rates.SLOWER),
    ("power", 0.48, 0.5, rates.MATCHES),  # a growth (regret): a smaller exponent is faster
    ("power", 0.3, 0.5, rates.FASTER),
    ("power", 0.8, 0.5, rates.SLOWER),
    ("exp", 2.0, 1.0, rates.FASTER),
    ("exp", 0.95, 1.0, rates.MATCHES),
    ("exp", 0.5, 1.0, rates.SLOWER),
    ("power", 0.05, 0.0, rates.MATCHES),  # theory 0: the tolerance is absolute
    ("power", 0.2, 0.0, rates.SLOWER),
])
def test_compare(form, measured, theory, verdict):
    assert rates.compare(form, measured, theory, 0.1) == verdict


def test_claim_grammar_precedence_and_functions():
    funcs = {"f": lambda a, b: 2.0 if a == "x" else 3.0, "abs": abs}
    ev = lambda text: claims.evaluate(claims.parse(text), funcs)
    assert ev("1 + 2 * 3 == 7")
    assert ev("(1 + 2) * 3 == 9")
    assert ev("-2 * -3 == 6")
    assert ev("f(x, m) < f(y, m) and abs(-1) == 1")
    assert ev("1 > 2 or 2 > 1")
    assert not ev("1e-3 > 1e-2")
    assert ev("f(x, m) / 0 > 1e300")  # division by zero is +inf, not a crash


@pytest.mark.parametrize("text", ["__import__('os')", "1 +", "rate(a", "a; b", "1 ** 2", "", "x.y(", "'s'"])
def test_claim_grammar_rejects_non_expressions(text):
    with pytest.raises(claims.ClaimSyntaxError):
        claims.parse(text)


def test_claim_unknown_function_is_an_evaluation_error():
    with pytest.raises(claims.ClaimEvaluationError):
        claims.evaluate(claims.parse("nope(a) > 1"), {})


def test_better_larger_mirrors_the_comparison():
    # a gap ~ sigma^p as sigma -> 0: a steeper slope (larger p) is the faster decay
    assert rates.compare("power", 1.5, 1.0, 0.1, better="larger") == rates.FASTER
    assert rates.compare("power", 0.95, 1.0, 0.1, better="larger") == rates.MATCHES
    assert rates.compare("power", 0.5, 1.0, 0.1, better="larger") == rates.SLOWER


def test_claim_trail_records_both_sides_of_every_comparison():
    trail = []
    funcs = {"f": lambda a: {"x": 1.5, "y": 2.0}[a]}
    assert claims.evaluate(claims.parse("f(x) < f(y) and f(y) >= 2"), funcs, trail)
    assert trail == ["1.5 < 2", "2 >= 2"]
