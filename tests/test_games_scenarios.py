"""Every games scenario passes its quick check; the `certify` command works on every game."""
import pytest
import typer
from typer.testing import CliRunner

from optsandbox import rates, registry, runner, scenario
from optsandbox.games import CATALOG
from optsandbox.games.cli import register


def _games_scenarios():
    return sorted(name for name, path in registry.scenario_paths().items() if path.parent.name == "games")


def test_games_scenarios_pass_quick_and_cover_every_algorithm():
    names = _games_scenarios()
    assert len(names) >= 5
    used = set()
    for name in names:
        sc = scenario.load(name, quick=True)
        assert sc.family == "games" and sc.name.startswith("games-")
        assert sc.bounds, f"{name} has no [[bound]]"
        traces = runner.run_jobs(sc, runner.jobs_for(sc))
        v = rates.verdicts(sc, traces)
        bad = [(b.algorithm_id, b.verdict) for b in v.bounds if b.violation]
        bad += [(c.text, c.detail) for c in v.claims if c.holds is not True]
        assert not v.failed and not bad, f"{name}: {bad}"
        used.update(a.name for a in sc.algorithms)
    assert used == {a.name for a in CATALOG.algorithms}


def _app():
    app = typer.Typer()

    @app.callback()
    def main():
        """test app"""

    register(app)
    return app


@pytest.mark.parametrize("game", [p.name for p in CATALOG.problems])
def test_certify_runs_on_every_game(game):
    result = CliRunner().invoke(_app(), ["certify", game])
    assert result.exit_code == 0, result.output
    for word in ("margin alpha_*(w)", "weights w", "beta", "safe Euler steps", "Euclidean monotonicity"):
        assert word in result.output


def test_certify_reports_the_canonical_margin():
    result = CliRunner().invoke(_app(), ["certify", "lq", "--set", "lam=1.0", "--set", "d=3"])
    assert result.exit_code == 0
    assert "0.2929" in result.output  # 1 - sqrt(0.5)
    assert "(0, 0.201)" in result.output  # 2 (1 - c) / (1 + c)^2


@pytest.mark.parametrize("args", [
    ["certify", "no_such_game"],
    ["certify", "lq", "--set", "lam=abc"],
    ["certify", "lq", "--set", "nokey=1"],
    ["certify", "lq", "--set", "lam"],
    ["certify", "lq", "--region", "0.5"],
    ["certify", "tanh_game", "--region", "-1"],
    ["certify", "lq", "--weights", "best"],
    ["certify", "lq", "--set", "box=0.1", "--set", "offset=1"],
])
def test_certify_bad_input_exits_2_with_one_line(args):
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.output
