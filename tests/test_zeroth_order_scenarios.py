"""Every zeroth_order scenario passes its quick check (bounds within theory, claims hold)."""
import pytest

from optsandbox import rates, registry, runner, scenario

NAMES = sorted(n for n, p in registry.scenario_paths().items() if p.parent.name == "zeroth_order")


def test_the_family_has_its_scenarios():
    assert {"zeroth_order-ranksgd-horizon-rate", "zeroth_order-ranksgd-variance", "zeroth_order-fzoos-vs-fedzo",
            "zeroth_order-fzoos-surrogate-error"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_quick_check_passes(name):
    sc = scenario.load(name, quick=True)
    v = rates.verdicts(sc, runner.run_jobs(sc, runner.jobs_for(sc)))
    failures = [f"{b.algorithm_id} {b.metric} {b.sweep_value}: {b.verdict}" for b in v.bounds if b.violation]
    failures += [f"{c.text}: {c.detail}" for c in v.claims if c.holds is not True]
    assert not failures, failures
