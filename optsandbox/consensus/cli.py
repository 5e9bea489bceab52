"""The family's CLI command: ``optsandbox success-rates``, a table of CBO success rates over (d, N).

Nothing numerical is imported at module level: :func:`register` runs at every start of the CLI.
"""
from __future__ import annotations

import typer

PROBLEMS = ("rastrigin", "rastrigin_riedl", "ackley")


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise ValueError(f"{option} {text!r}: expected comma-separated positive integers, e.g. 10,40,100")
    return values


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def success_table(problem: str, dims: list[int], particles: list[int], runs: int, iterations: int,
                  noise: str, sigma: float, alpha: float, schedule: str, output: str, shift: float,
                  radius: float, seed: int) -> list[dict]:
    """Return one row per (d, N): success rate over ``runs`` independent CBO runs and its Wilson interval."""
    import numpy as np

    from ..api import Budget
    from . import algorithms, problems
    from .params import PROBLEM_PARAMS

    rows = []
    for d in dims:
        pparams = {p.name: p.default for p in PROBLEM_PARAMS[problem]}
        pparams.update(dim=d, shift=shift, init="uniform", init_low=-3.0, init_high=3.0)
        build = getattr(problems, f"build_{problem}")
        for n in particles:
            ss = np.random.SeedSequence(seed, spawn_key=(d, n))
            problem_rng, algo_rng = (np.random.default_rng(s) for s in ss.spawn(2))
            instance = build(pparams, problem_rng)
            params = dict(noise=noise, lam=1.0, sigma=sigma, dt=0.01, alpha=alpha, alpha_schedule=schedule,
                          particles=n, runs=runs, output=output, noise_point="pre_drift",
                          success_radius=radius, tau=0.0)
            result = algorithms.run_cbo(instance, params, Budget(iterations, max(1, iterations)), algo_rng)
            ev = result.events
            rows.append(dict(dim=d, particles=n, rate=ev["success_rate"], low=ev["success_low"],
                             high=ev["success_high"], regime=algorithms.regime(params, d),
                             status=result.status))
    return rows


def register(app: typer.Typer) -> None:
    """Add ``success-rates`` to the optsandbox command."""

    @app.command("success-rates")
    def success_rates(
        problem: str = typer.Option("rastrigin", help=f"objective: {', '.join(PROBLEMS)}"),
        dims: str = typer.Option("5,10,20", help="dimensions d, comma-separated"),
        particles: str = typer.Option("10,40,100", help="particle counts N, comma-separated"),
        runs: int = typer.Option(50, help="independent runs per cell"),
        iterations: int = typer.Option(2000, help="CBO steps per run"),
        noise: str = typer.Option("anisotropic", help="isotropic or anisotropic"),
        sigma: float = typer.Option(10.1, help="noise strength (CBXpy demo: 10.1)"),
        alpha: float = typer.Option(30.0, help="alpha (initial value under the schedule)"),
        schedule: str = typer.Option("cbx_default",
                                     help="none (fixed alpha) or cbx_default (x1.05, cap 1e5)"),
        output: str = typer.Option("best_particle", help="consensus or best_particle (CBXpy)"),
        shift: float = typer.Option(1.0, help="minimizer drawn from U[-shift, shift]^d"),
        radius: float = typer.Option(0.25, help="success: ||output - x*||_inf < radius"),
        seed: int = typer.Option(0, help="base seed"),
        quick: bool = typer.Option(False, "--quick", help="runs = 10, iterations = 500: a 10-second preview"),
    ) -> None:
        """Print CBO's success rate over dimension and particle count (Wilson 95% intervals)."""
        try:
            dim_list = _int_list(dims, "--dims")
            n_list = _int_list(particles, "--particles")
        except ValueError as exc:
            _fail(str(exc))
        checks = [(problem in PROBLEMS, f"--problem {problem!r}: allowed: {', '.join(PROBLEMS)}"),
                  (noise in ("isotropic", "anisotropic"),
                   f"--noise {noise!r}: allowed: isotropic, anisotropic"),
                  (schedule in ("none", "cbx_default"),
                   f"--schedule {schedule!r}: allowed: none, cbx_default"),
                  (output in ("consensus", "best_particle"),
                   f"--output {output!r}: allowed: consensus, best_particle"),
                  (runs >= 1, f"--runs {runs}: must be >= 1"),
                  (iterations >= 1, f"--iterations {iterations}: must be >= 1"),
                  (sigma >= 0 and alpha >= 0 and radius > 0 and shift >= 0,
                   "--sigma, --alpha, --shift must be >= 0 and --radius > 0")]
        for ok, message in checks:
            if not ok:
                _fail(message)
        if quick:
            runs, iterations = min(runs, 10), min(iterations, 500)

        from rich.console import Console
        from rich.table import Table

        rows = success_table(problem, dim_list, n_list, runs, iterations, noise, sigma, alpha, schedule,
                             output, shift, radius, seed)
        regimes = sorted({r["regime"] for r in rows})
        table = Table(title=f"CBO success rate on {problem} ({noise} noise, sigma = {sigma:g}, "
                            f"alpha = {alpha:g}"
                            f"{' x1.05/step up to 1e5' if schedule == 'cbx_default' else ' fixed'}, "
                            f"{iterations} steps, {runs} runs per cell)")
        table.add_column("d", justify="right")
        for n in n_list:
            table.add_column(f"N = {n}", justify="center")
        for d in dim_list:
            cells = []
            for n in n_list:
                r = next(r for r in rows if r["dim"] == d and r["particles"] == n)
                note = " (diverged)" if r["status"] in (2, 3) else ""
                cells.append(f"{r['rate']:.2f} [{r['low']:.2f}, {r['high']:.2f}]{note}")
            table.add_row(str(d), *cells)
        console = Console()
        console.print(table)
        console.print(f"success: ||{output} - x*||_inf < {radius:g}; x* ~ U[-{shift:g}, {shift:g}]^d, "
                      f"rho_0 = U[-3, 3]^d; [low, high] = Wilson 95% interval; regime: {', '.join(regimes)} "
                      "(success rates are not evidence for the rate theorem, and vice versa)", markup=False)
