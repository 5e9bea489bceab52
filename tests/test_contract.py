"""One generic test over every registered family (the optax `alias_test` idea).

Whatever a family adds, it gets these checks for free: its catalog imports without numpy or numba, every
algorithm has a documented runner and appears in a scenario, every scenario validates and passes its
quick conformance check, and the kernels give the same answer with the JIT disabled.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optsandbox import rates, registry, runner, scenario

PACKAGE = Path(registry.__file__).parent
FAMILY_DIRS = sorted(p.name for p in PACKAGE.iterdir()
                     if (p / "__init__.py").is_file() and p.name not in ("kernels", "_problems"))
SCENARIOS = sorted(registry.scenario_paths())


def test_every_family_folder_registers_a_catalog():
    assert set(registry.families()) == set(FAMILY_DIRS)


@pytest.mark.parametrize("family", FAMILY_DIRS)
def test_catalog_is_metadata_only(family):
    code = (f"import sys, optsandbox.{family} as f; assert f.CATALOG.algorithms; "
            "bad = [m for m in ('numba', 'numpy', 'scipy') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("family,name", [(f, a.name) for f, a in registry.algorithms()])
def test_every_algorithm_is_documented_and_exercised(family, name):
    spec = registry.algorithm(family, name)
    run = registry.load_entry(spec.entry)
    assert run.__doc__ and len(run.__doc__.split()) >= 12, f"{name}: runner needs a docstring (paper, rule)"
    used = {(scenario.read_toml(p).get("family"), a.get("name"))
            for p in registry.scenario_paths().values() for a in scenario.read_toml(p).get("algorithm", [])}
    assert (family, name) in used, f"{family}/{name} appears in no scenario"


@pytest.mark.parametrize("family,name", [(f, p.name) for f, p in registry.problems()])
def test_every_problem_entry_resolves(family, name):
    assert callable(registry.load_entry(registry.problem(family, name).entry))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_passes_its_quick_check(name):
    sc = scenario.load(name, quick=True)
    assert sc.bounds or sc.claims, f"{name} checks nothing"
    traces = runner.run_jobs(sc, runner.jobs_for(sc))
    verdicts = rates.verdicts(sc, traces)
    problems = [f"{b.algorithm_id} {b.metric}: {b.verdict}" for b in verdicts.bounds if b.violation]
    problems += [f"claim {c.text!r}: {c.detail}" for c in verdicts.claims if c.holds is False]
    assert not problems, "; ".join(problems)
    assert all(c.holds is not None for c in verdicts.claims), [c.detail for c in verdicts.claims]


def test_jit_and_pure_python_agree_on_a_short_run(tmp_path):
    """The same scenario with NUMBA_DISABLE_JIT=1 gives the same events and final metrics."""
    code = ("import json; from optsandbox import scenario, runner\n"
            "sc = scenario.load('classification-lower-bound-sweep', quick=True, "
            "overrides=['sweep.values=[11, 33]'])\n"
            "tr = runner.run_jobs(sc, runner.jobs_for(sc))\n"
            "print(json.dumps([[t.algorithm_id, t.sweep_value, t.events, t.final('theta_norm')] for t in tr]))\n")
    outs = []
    for disable in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=disable)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        outs.append(json.loads(done.stdout))
    assert outs[0] == outs[1]


@pytest.mark.parametrize("family", FAMILY_DIRS)
def test_every_family_declares_benchmarks(family):
    """The entry resolves; building the cases (problems at benchmark size) is left to `optsandbox bench`."""
    entry = registry.catalog(family).benchmarks
    assert entry, f"{family} declares no benchmark cases"
    assert callable(registry.load_entry(entry))


def test_info_explains_every_algorithm_problem_and_scenario():
    from typer.testing import CliRunner

    from optsandbox.cli import app

    names = ([a.name for _, a in registry.algorithms()] + [p.name for _, p in registry.problems()]
             + SCENARIOS)
    cli = CliRunner()
    for name in names:
        result = cli.invoke(app, ["info", name])
        assert result.exit_code == 0 and name in result.output, (name, result.output[-300:])
