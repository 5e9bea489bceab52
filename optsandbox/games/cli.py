"""``optsandbox certify GAME``: print the Small-Gain Nash certificate of a registered game as a Rich table.

``register(app)`` runs at every CLI start, so nothing heavy is imported here at module level: numpy,
numba and the family's modules are imported inside the command.
"""
from __future__ import annotations

from typing import List, Optional

import typer


def _fail(message: str) -> None:
    """Print one readable line to stderr and exit with code 2 (bad input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _fmt(x, digits: int = 4) -> str:
    import math

    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "n/a")
    return f"{x:.{digits}g}"


def _vector(v) -> str:
    return "(" + ", ".join(_fmt(float(x)) for x in v) + ")"


def _matrix(L) -> str:
    return "; ".join(" ".join(_fmt(float(x), 3) for x in row) for row in L)


def certify_game(game: str, region: Optional[float], settings: List[str], seed: int, weights: str,
                 interior: int):
    """Return ([(label, certificate)], instance, problem params); raise ValueError on bad input."""
    import numpy as np

    from .. import registry, scenario
    from . import CATALOG
    from .certificate import certify

    specs = {p.name: p for p in CATALOG.problems}
    if game not in specs:
        raise ValueError(f"unknown game {game!r}; games: {', '.join(specs)}")
    if weights not in ("margin", "euler"):
        raise ValueError(f"--weights {weights!r}: allowed values: margin, euler")
    spec = specs[game]
    known = {p.name: p for p in spec.params}
    params = {p.name: p.default for p in spec.params}
    for item in settings:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key=value, e.g. lam=1.2")
        key, _, text = item.partition("=")
        key = key.strip().removeprefix("problem.")
        if key not in known:
            raise ValueError(f"--set {key}: {game} has no parameter {key!r}; parameters: {', '.join(known)}")
        try:
            params[key] = scenario.check_param("--set", key, scenario.parse_value(text.strip()), known[key])
        except scenario.ScenarioError as exc:
            raise ValueError(str(exc).removeprefix("--set: ")) from None
    if region is not None:
        if not region > 0:
            raise ValueError(f"--region {region!r}: must be > 0")
        if "region" not in known:
            raise ValueError(f"--region: {game} is quadratic (constant Jacobian): its certificate is global")
        params["region"] = float(region)
    build = registry.load_entry(spec.entry)
    instance = build(params, np.random.default_rng(seed))
    if "certificate_natural" in instance.reference:  # Markov game: certificates built with the instance
        if weights != "margin":
            raise ValueError(f"--weights {weights}: the Markov game's certificates use the margin-optimal weights")
        return [("policy gradient field F, Euclidean logits", instance.reference["certificate"]),
                ("natural gradient field, Fisher metric at theta*", instance.reference["certificate_natural"])], \
            instance, params
    if "region" in instance.reference:
        cert = certify(instance.data, instance.oracles["jacobian"], np.zeros(instance.dim),
                       float(instance.reference["region"]), interior=interior,
                       rng=np.random.default_rng(seed), weights=weights)
    else:
        cert = certify(instance.data, weights=weights)
    return [("", cert)], instance, params


def render(game: str, cert, params: dict, label: str = ""):
    """Return the Rich table of a certificate."""
    import math

    from rich.table import Table

    t = Table(title=f"Small-Gain Nash certificate: {game}" + (f" ({label})" if label else ""), show_lines=False)
    t.add_column("quantity", style="bold")
    t.add_column("value")
    t.add_column("meaning", style="dim")
    yes = "[green]yes[/green]"
    no = "[red]no[/red]"
    shown = {k: v for k, v in params.items() if not isinstance(v, list) or v}
    t.add_row("game parameters", ", ".join(f"{k}={v}" for k, v in shown.items()), "")
    t.add_row("players / blocks", f"{cert.N} / {list(map(int, cert.offsets[1:] - cert.offsets[:-1]))}", "")
    t.add_row("region", cert.region, f"{cert.samples} Jacobian evaluation(s)")
    t.add_row("rigorous constants", yes if cert.rigorous else no, "; ".join(cert.notes) or "exact (quadratic)")
    t.add_row("mu (own curvature)", _vector(cert.mu), "lambda_min(sym dF_i/dx_i)")
    t.add_row("L (cross coupling)", _matrix(cert.L), "||dF_i/dx_j||_2, rows i")
    t.add_row("small-gain ratio", _fmt(cert.small_gain_ratio), "rho(diag(mu)^-1 L) < 1 <=> certifiable")
    t.add_row("SGN certifies", yes if cert.certified else no, "alpha_*(w) > 0")
    t.add_row("best margin alpha_max", _fmt(cert.alpha_max), "bisection on the Perron root"
              + (" (= closed form)" if cert.N == 2 else ""))
    t.add_row("weights w", _vector(cert.weights), f"rule: {cert.weights_rule}; metric M = blockdiag(w_i I)")
    t.add_row("margin alpha_*(w)", _fmt(cert.alpha_star), "F is alpha_*-strongly monotone in ||.||_M")
    if cert.linear:
        t.add_row("alpha_true(w)", _fmt(cert.alpha_true), "exact M-metric modulus (>= alpha_*)")
    if cert.N == 2:
        band = cert.band
        t.add_row("timescale band r = w2/w1", f"[{_fmt(band[0])}, {_fmt(band[1])}]" if band else "empty",
                  "ratios with alpha_*(r) >= 0")
    t.add_row("beta (Lipschitz in ||.||_M)", _fmt(cert.beta), "")
    if cert.certified:
        t.add_row("safe Euler steps", f"(0, {_fmt(cert.euler_step_max)})", "h < 2 alpha_*/beta^2")
        t.add_row("optimal Euler step", f"{_fmt(cert.euler_step_opt)} (factor {_fmt(cert.euler_factor_opt, 6)})",
                  "h = alpha/beta^2, factor sqrt(1 - alpha^2/beta^2) per step")
        t.add_row("predicted contraction", f"flow exp(-{_fmt(cert.alpha_star)} t); Euler "
                  f"{_fmt(-math.log(cert.euler_factor_opt), 4)} per step at the optimal h", "in ||.||_M")
        t.add_row("RK4 step guideline", f"h <= {_fmt(cert.rk4_guideline)}", "2.5/beta (guideline, not a theorem)")
    else:
        t.add_row("safe Euler steps", "none", "no certificate")
    if cert.linear:
        if math.isfinite(cert.rk4_certified):
            t.add_row("certified RK4 steps", f"(0, {_fmt(cert.rk4_certified)})", "||M^1/2 R4(-hH) M^-1/2|| < 1")
        t.add_row("true Euler / RK4 thresholds", f"{_fmt(cert.euler_threshold)} / {_fmt(cert.rk4_threshold)}",
                  "spectral stability of I - hH / R4(-hH)")
    t.add_row("Euclidean gamma_min", _fmt(cert.euclid_margin), "Rosen: lambda_min(sym dF)")
    t.add_row("Euclidean monotonicity certifies", yes if cert.euclid_certified else no,
              f"safe steps (0, {_fmt(cert.euclid_step_max)})" if cert.euclid_certified else "gamma_min <= 0")
    return t


def register(app: typer.Typer) -> None:
    """Add the ``certify`` command to the CLI app."""

    @app.command("certify")
    def certify_command(
        game: str = typer.Argument(..., help="a games-family problem: toy2d, lq, lq_random, nplayer, tanh_game, "
                                   "markov"),
        region: Optional[float] = typer.Option(None, "--region", help="half-width of the certified box "
                                               "(non-quadratic games)"),
        settings: List[str] = typer.Option([], "--set", help="game parameter, key=value (repeatable)"),
        seed: int = typer.Option(0, "--seed", help="seed of the random game instance"),
        weights: str = typer.Option("margin", "--weights", help="margin (maximize alpha_*) or euler "
                                    "(two players: maximize alpha_*/beta^2)"),
        interior: int = typer.Option(16, "--interior", help="random interior sample points (non-quadratic)"),
    ) -> None:
        """Print the Small-Gain Nash certificate of GAME: margin, weights, band, beta, safe steps."""
        from rich.console import Console

        try:
            certs, _, params = certify_game(game, region, settings, seed, weights, interior)
        except ValueError as exc:
            _fail(str(exc))
        console = Console()
        for label, cert in certs:
            console.print(render(game, cert, params, label))
