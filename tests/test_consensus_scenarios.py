"""Every consensus scenario passes its quick check; the success-rate command prints and rejects bad input."""
import pytest
import typer
from typer.testing import CliRunner

from optsandbox import rates, registry, runner, scenario

NAMES = sorted(n for n, p in registry.scenario_paths().items() if p.parent.name == "consensus")


def test_every_algorithm_appears_in_a_scenario():
    used = {a.name for n in NAMES for a in scenario.load(n, quick=True).algorithms}
    assert {a.name for a in registry.catalog("consensus").algorithms} <= used


@pytest.mark.parametrize("name", NAMES)
def test_scenario_quick_check_passes(name):
    sc = scenario.load(name, quick=True)
    traces = runner.run_jobs(sc, runner.jobs_for(sc))
    v = rates.verdicts(sc, traces)
    assert sc.bounds or sc.claims
    detail = [(b.algorithm_id, b.sweep_value, b.measured, b.theory, b.verdict) for b in v.bounds]
    assert not v.failed, detail + [(c.text, c.detail) for c in v.claims]


def _app():
    from optsandbox.consensus.cli import register

    app = typer.Typer()

    @app.callback()
    def main():
        pass

    register(app)
    return app


def test_success_rates_command_prints_a_table():
    args = ["success-rates", "--dims", "2,3", "--particles", "10,20", "--runs", "4", "--iterations", "50"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "N = 20" in result.output and "Wilson" in result.output


@pytest.mark.parametrize("args", [["--dims", "4,x"], ["--particles", "0"], ["--noise", "loud"],
                                  ["--runs", "0"]])
def test_success_rates_command_rejects_bad_input(args):
    result = CliRunner().invoke(_app(), ["success-rates", *args])
    assert result.exit_code == 2
