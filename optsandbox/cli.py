"""The ``optsandbox`` command: parses, calls the runner, renders. No numerics here.

Exit codes: 0 success, 1 a check failed (a bound violated or a claim failing), 2 bad input (one readable
line on stderr, no traceback), 130 interrupted (results finished so far are kept on disk).

Only typer, rich and the metadata modules are imported at start-up; numpy, numba and the kernels load
inside the commands that run something, so ``--help`` and ``list`` answer at once.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from . import __version__, registry
from .scenario import ScenarioError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
                  pretty_exceptions_enable=False,
                  help="Recent optimization algorithms as Numba kernels on synthetic problems, every "
                       "measured rate set beside its theorem.")
# Tables are wide; when output is not a terminal (CI logs, pipes) rich would assume 80 columns and wrap
# every cell, so give it room unless COLUMNS says otherwise.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in __import__("os").environ else 160
console = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)


class InputError(Exception):
    """Bad input from the user: reported in one line with exit code 2."""


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _guard(fn):
    """Turn input errors into one line and exit code 2; Ctrl-C into exit code 130."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ScenarioError, registry.RegistryError, InputError) as exc:
            fail(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: results finished so far are kept")
            raise typer.Exit(130)

    return wrapper


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")):
    if version:
        console.print(f"optsandbox {__version__}")
        raise typer.Exit(0)


# ---------------------------------------------------------------------------------------------------
# list / info


@app.command("list")
@_guard
def list_command(kind: str = typer.Argument("all", help="algorithms, problems, scenarios or all")):
    """List algorithms, problems and scenarios (name, family, paper, proven rate)."""
    from rich.markup import escape
    from rich.table import Table

    kinds = ("algorithms", "problems", "scenarios", "all")
    if kind not in kinds:
        raise InputError(f"list {kind!r}: choose one of {', '.join(kinds)}")
    if kind in ("algorithms", "all"):
        table = Table(title="algorithms", title_justify="left")
        for col in ("name", "family", "paper", "proven rate"):
            table.add_column(col)
        for fam, a in registry.algorithms():
            name = a.name + (" [dim](baseline)[/]" if a.baseline else "")
            table.add_row(name, fam, escape(a.paper), escape(a.proven_rate))
        console.print(table)
    if kind in ("problems", "all"):
        table = Table(title="problems", title_justify="left")
        for col in ("name", "family", "what it is", "reference answer"):
            table.add_column(col)
        for fam, p in registry.problems():
            table.add_row(p.name, fam, escape(p.title), escape(p.known))
        console.print(table)
    if kind in ("scenarios", "all"):
        from .scenario import read_toml

        table = Table(title="scenarios", title_justify="left")
        for col in ("name", "family", "title"):
            table.add_column(col)
        for name, path in registry.scenario_paths().items():
            try:
                raw = read_toml(path)
            except ScenarioError:
                raw = {"family": "?", "title": "(malformed file)"}
            table.add_row(name, escape(str(raw.get("family", ""))), escape(str(raw.get("title", ""))))
        console.print(table)


@app.command()
@_guard
def info(name: str = typer.Argument(..., help="an algorithm, problem or scenario name")):
    """Explain an algorithm (update rule, parameters, oracles, bound, paper), a problem or a scenario."""
    from rich.markup import escape as e
    from rich.panel import Panel
    from rich.table import Table

    hits = registry.find_any(name)
    if not hits:
        known = [a.name for _, a in registry.algorithms()] + [p.name for _, p in registry.problems()]
        close = [k for k in known + list(registry.scenario_paths()) if name in k or k in name][:6]
        hint = f"; did you mean: {', '.join(close)}" if close else "; see `optsandbox list`"
        raise InputError(f"no algorithm, problem or scenario named {name!r}{hint}")
    for kind, fam, spec in hits:
        if kind == "algorithm":
            body = (f"[b]{e(spec.title)}[/]  ({fam})\n\n[b]paper[/]  {e(spec.paper)}\n"
                    f"[b]update[/] {e(spec.update_rule)}\n[b]bound[/]  {e(spec.proven_rate)}\n"
                    f"[b]counts[/] {e(', '.join(spec.oracles))}")
            console.print(Panel(body, title=f"algorithm {spec.name}", title_align="left"))
            if spec.params:
                table = Table("parameter", "default", "meaning", title="parameters", title_justify="left")
                for p in spec.params:
                    table.add_row(p.name, e(repr(p.default)), e(p.doc + (f" (one of {', '.join(p.choices)})"
                                                                         if p.choices else "")))
                console.print(table)
        elif kind == "problem":
            console.print(Panel(f"[b]{e(spec.title)}[/]  ({fam})\n\n[b]reference[/] {e(spec.known)}",
                                title=f"problem {spec.name}", title_align="left"))
            if spec.params:
                table = Table("parameter", "default", "meaning", title="parameters", title_justify="left")
                for p in spec.params:
                    table.add_row(p.name, e(repr(p.default)), e(p.doc))
                console.print(table)
        else:
            from . import scenario as scenario_mod

            sc = scenario_mod.load(str(spec))
            lines = [f"[b]{e(sc.title)}[/]", f"[b]paper[/]   {e(sc.paper)}", f"[b]file[/]    {e(sc.path)}",
                     f"[b]problem[/] {sc.problem} {e(str(sc.problem_params))}",
                     f"[b]budget[/]  {sc.iterations} iterations x {sc.seeds} seeds",
                     "[b]algorithms[/] " + ", ".join(a.id for a in sc.algorithms)]
            if sc.sweep:
                lines.append(f"[b]sweep[/]   {sc.sweep.parameter} over {e(str(sc.sweep.values))}")
            for b in sc.bounds:
                lines.append(f"[b]bound[/]   {b.metric} ({b.form} vs {b.axis}), rate {b.rate}, tolerance "
                             f"{b.tolerance:g}: {e(b.text)}")
            for c in sc.claims:
                lines.append(f"[b]claim[/]   {e(c.text)}  [dim]{e(c.check)}[/]")
            console.print(Panel("\n".join(lines), title=f"scenario {sc.name}", title_align="left"))


# ---------------------------------------------------------------------------------------------------
# run / check / plot


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


def execute(sc, n_jobs: int = 1, results_root: Optional[Path] = None, show_progress: bool = True,
            label: str | None = None):
    """Run every job of a scenario, saving each trace as it finishes; return (traces, results dir)."""
    from . import runner
    from . import trace as trace_mod

    jobs = runner.jobs_for(sc)
    results_dir = trace_mod.new_results_dir(results_root, sc.name) if results_root is not None else None
    if results_dir is not None:
        trace_mod.save_json(results_dir / "manifest.json", _manifest(sc))
    finished = []

    def keep(trace):
        finished.append(trace)
        if results_dir is not None:
            trace_mod.save_trace(results_dir, trace)

    try:
        if show_progress:
            with _progress() as progress:
                task = progress.add_task(label or sc.name, total=len(jobs))

                def done(trace):
                    keep(trace)
                    progress.advance(task)

                traces = runner.run_jobs(sc, jobs, n_jobs=n_jobs, on_done=done)
        else:
            traces = runner.run_jobs(sc, jobs, n_jobs=n_jobs, on_done=keep)
    except KeyboardInterrupt:
        if results_dir is not None and finished:
            trace_mod.save_csv(results_dir, finished)
            err.print(f"[yellow]kept {len(finished)} finished runs in {results_dir}[/]")
        raise
    if results_dir is not None:
        trace_mod.save_csv(results_dir, traces)
    return traces, results_dir


def _manifest(sc) -> dict:
    import platform

    import numba
    import numpy

    return {"scenario": sc.name, "path": sc.path, "raw": sc.raw, "optsandbox": __version__,
            "numpy": numpy.__version__, "numba": numba.__version__, "python": platform.python_version(),
            "argv": sys.argv}


def _units(family: str) -> dict:
    try:
        return dict(registry.catalog(family).axes)
    except registry.RegistryError:
        return {}


def _curve_bound(sc):
    swept = sc.sweep.parameter.partition(".")[2] if sc.sweep else None
    return next((b for b in sc.bounds if b.form != "count" and b.axis != swept), None)


def render(sc, traces, verdicts) -> None:
    """Print the run summary, a convergence table, the rate table and the claims."""
    from . import report

    console.print(report.summary_table(sc, traces))
    bound = _curve_bound(sc)
    if bound is not None:
        table = report.convergence_table(sc, traces, bound.metric, bound.axis)
        if table is not None:
            console.print(table)
    if verdicts.bounds:
        console.print(report.rate_table(sc, verdicts.bounds))
    if verdicts.claims:
        console.print(report.claims_table(sc, verdicts.claims))


def json_document(sc, traces, verdicts, results_dir) -> dict:
    runs = []
    for t in traces:
        finals = {k: t.final(k) for k in t.columns}
        runs.append({"algorithm_id": t.algorithm_id, "algorithm": t.algorithm, "seed": t.seed_index,
                     "sweep_value": t.sweep_value, "status": t.status_name, "stop_iteration": t.stop_iteration,
                     "events": t.events, "final": finals, "wall_time": t.wall_time})
    doc = {"scenario": sc.name, "results_dir": str(results_dir) if results_dir else None, "runs": runs}
    doc.update(verdicts.to_json())
    return doc


@app.command()
@_guard
def run(
    scenario: str = typer.Argument(..., help="scenario name (see `optsandbox list scenarios`) or a .toml path"),
    algo: List[str] = typer.Option([], "--algo", "-a", help="run only these algorithm ids (repeatable)"),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="number of seeds"),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", min=1, help="iteration budget"),
    set_: List[str] = typer.Option([], "--set", "-s", help="override, e.g. problem.n=1000 or algorithm.gamma=100"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="worker processes (joblib)"),
    quick: bool = typer.Option(False, "--quick", help="use the scenario's reduced [quick] budget"),
    out: Path = typer.Option(Path("results"), "--out", help="results directory root"),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="draw the figure"),
    plot_dir: Path = typer.Option(Path("plots"), "--plot-dir", help="where figures go"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document instead of tables"),
):
    """Run a scenario: every algorithm x seed, then convergence and rate tables; results and plot saved."""
    from . import rates, scenario as scenario_mod
    from . import trace as trace_mod

    sc = scenario_mod.load(scenario, overrides=set_, quick=quick, iterations=iterations, seeds=seeds)
    sc = scenario_mod.select(sc, algo)
    traces, results_dir = execute(sc, n_jobs=jobs, results_root=out, show_progress=not as_json)
    verdicts = rates.verdicts(sc, traces)
    trace_mod.save_json(results_dir / "summary.json", verdicts.to_json())
    figure = None
    if plot:
        from .plotting import plot_scenario

        figure = plot_scenario(sc, traces, verdicts.bounds, plot_dir / f"{sc.name}.png", _units(sc.family))
    if as_json:
        doc = json_document(sc, traces, verdicts, results_dir)
        doc["plot"] = str(figure) if figure else None
        print(json.dumps(doc, indent=2, default=_json_default))
        return
    render(sc, traces, verdicts)
    console.print(f"results: {results_dir}" + (f"   plot: {figure}" if figure else ""))


def _json_default(x):
    import math

    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f if math.isfinite(f) else str(f)


@app.command()
@_guard
def check(
    scenarios: List[str] = typer.Argument(None, help="scenario names or paths (default: every scenario)"),
    quick: bool = typer.Option(False, "--quick", help="use each scenario's reduced [quick] budget"),
    family: Optional[str] = typer.Option(None, "--family", help="only the scenarios of this family"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="worker processes (joblib)"),
    out: Optional[Path] = typer.Option(None, "--out", help="also save every scenario's results here"),
):
    """The theory conformance suite: measured rate vs theorem for every scenario, with a verdict.

    Exit code 1 if any bound is violated or any claim fails, 0 otherwise.
    """
    from . import rates, report, scenario as scenario_mod

    names = list(scenarios or [])
    if not names:
        paths = registry.scenario_paths()
        names = [n for n, p in paths.items()
                 if family is None or scenario_mod.read_toml(p).get("family") == family]
        if not names:
            raise InputError(f"no scenarios{' of family ' + family if family else ''}")
    loaded = [scenario_mod.load(n, quick=quick) for n in names]  # validate all before running any
    rows = []
    failed = False
    for k, sc in enumerate(loaded, 1):
        traces, _ = execute(sc, n_jobs=jobs, results_root=out, label=f"[{k}/{len(loaded)}] {sc.name}")
        v = rates.verdicts(sc, traces)
        failed |= v.failed
        for b in report.condense(v.bounds):
            subject = b.algorithm_id if b.sweep_value is None else f"{b.algorithm_id} ({b.sweep_value})"
            label = {"count": "max count", "slope": "slope", "count ratio": "max count/bound"}.get(
                b.form, b.form + " fit")
            rows.append((sc.name, subject, b.metric, f"{report.fmt(b.measured)} ({label})",
                         report.fmt(b.theory), b.verdict))
        for c in v.claims:
            word = "holds" if c.holds else ("fails" if c.holds is False else "not evaluated")
            measured = c.detail.partition(" (")[2].rstrip(")") if c.holds is not None else ""
            rows.append((sc.name, c.text, "claim", measured, "", word if c.holds is not None else c.detail))
        if not v.bounds and not v.claims:
            rows.append((sc.name, "—", "—", "", "", "nothing to check"))
    console.print(report.check_table(rows))
    bad = sum(1 for r in rows if report.verdict_style(r[5]) == "bold red")
    console.print(f"{len(loaded)} scenarios, {len(rows)} checks, "
                  + (f"[bold red]{bad} violated[/]" if failed else "[green]all consistent with theory[/]"))
    if failed:
        raise typer.Exit(1)


@app.command()
@_guard
def plot(
    results: Path = typer.Argument(..., help="a results directory written by `optsandbox run`"),
    out: Optional[Path] = typer.Option(None, "--out", help="output PNG (default plots/<scenario>.png)"),
):
    """Re-draw saved results without re-running."""
    from . import rates, scenario as scenario_mod
    from . import trace as trace_mod
    from .plotting import plot_scenario

    if not (results / "manifest.json").is_file():
        raise InputError(f"{results}: not a results directory (no manifest.json)")
    manifest = trace_mod.load_manifest(results)
    sc = scenario_mod.validate(manifest["raw"], manifest.get("path", str(results)))
    traces = trace_mod.load_traces(results)
    if not traces:
        raise InputError(f"{results}: no finished runs saved")
    sc = scenario_mod.select(sc, sorted({t.algorithm_id for t in traces}))
    verdicts = rates.verdicts(sc, traces)
    path = plot_scenario(sc, traces, verdicts.bounds, out or Path("plots") / f"{sc.name}.png",
                         _units(sc.family))
    console.print(f"plot: {path}" if path else "nothing to plot")


@app.command()
@_guard
def sweep(
    scenario: str = typer.Argument(..., help="scenario name or .toml path"),
    grid: List[str] = typer.Option([], "--grid", "-g", help="key=v1,v2,... (repeatable; Cartesian product)"),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="seeds per cell"),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", min=1, help="iteration budget"),
    set_: List[str] = typer.Option([], "--set", "-s", help="override applied to every cell"),
    quick: bool = typer.Option(False, "--quick", help="use the scenario's reduced [quick] budget"),
    backend: str = typer.Option("local", "--backend", help="local (joblib processes) or dask"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="worker processes (local) or LocalCluster workers"),
    metric: Optional[str] = typer.Option(None, "--metric", help="column to summarize, e.g. event:iterations_to_separation"),
    out: Path = typer.Option(Path("sweeps"), "--out", help="sweep results root"),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="draw the summary figure"),
):
    """Sweep a scenario over parameter grids x seeds; resumable; local processes or a Dask cluster."""
    from rich.table import Table

    from . import report
    from . import sweep as sweep_mod

    if backend not in ("local", "dask"):
        raise InputError(f"--backend {backend!r}: choose local or dask")
    if scheduler and backend != "dask":
        raise InputError("--scheduler needs --backend dask")
    p = sweep_mod.plan(scenario, grid, overrides=set_, seeds=seeds, iterations=iterations, quick=quick)
    with _progress() as progress:
        task = progress.add_task(f"{len(p.cells)} cells", total=len(p.cells))
        directory, results, ran = sweep_mod.execute(p, out, backend=backend, jobs=jobs, scheduler=scheduler,
                                                    on_cell=lambda cell: progress.advance(task))
    chosen = metric or sweep_mod.default_metric(results)
    columns = {k for r in results for row in r["rows"] for k in row}
    if chosen not in columns:
        options = ", ".join(sorted(k for k in columns if ":" in k))
        raise InputError(f"--metric {chosen!r}: not a column of this sweep; columns: {options}")
    summary = sweep_mod.summarize(p, results, chosen)
    table = Table(title=f"{p.path.stem}: {chosen} (median [min, max] over seeds)", title_justify="left")
    for g in p.grids:
        table.add_column(g.key)
    table.add_column("algorithm")
    inner = [s["sweep_value"] for s in summary if s["sweep_value"] is not None]
    if inner:
        sc0 = p.load_cell(p.cells[0])
        table.add_column(sc0.sweep.parameter if sc0.sweep else "swept", justify="right")
    table.add_column(chosen, justify="right")
    table.add_column("violations", justify="right")
    for s in summary:
        cell = dict(s["cell"])
        spread = f" [{report.fmt(s['low'])}, {report.fmt(s['high'])}]" if s["n"] > 1 else ""
        missing = f" ({s['missing']} missing)" if s["missing"] else ""
        extra = [report.fmt(s["sweep_value"])] if inner else []
        table.add_row(*[report.fmt(cell[g.key]) for g in p.grids], s["algorithm_id"], *extra,
                      report.fmt(s["median"]) + spread + missing,
                      f"[bold red]{s['violations']}[/]" if s["violations"] else "0")
    console.print(table)
    fitted = sweep_mod.slopes(p, summary)
    if fitted:
        t2 = Table(title=f"log-log slope of {chosen} against {p.grids[0].key}", title_justify="left")
        t2.add_column("algorithm")
        t2.add_column("other grid values")
        t2.add_column("slope", justify="right")
        for (algo, rest), value in fitted.items():
            t2.add_row(algo, ", ".join(f"{k}={v}" for k, v in rest) or "—", report.fmt(value))
        console.print(t2)
    figure = sweep_mod.plot(p, summary, chosen, directory / "summary.png") if plot else None
    skipped = len(p.cells) - ran
    console.print(f"{len(p.cells)} cells ({ran} run now, {skipped} already finished): {directory}"
                  + (f"   plot: {figure}" if figure else ""))


# ---------------------------------------------------------------------------------------------------
# warmup / bench / gallery


@app.command()
@_guard
def warmup(clean: bool = typer.Option(False, "--clean", help="delete numba's cache first")):
    """Compile and cache every kernel once (run each scenario's first job on a tiny budget)."""
    from . import runner, scenario as scenario_mod

    if clean:
        import optsandbox

        root = Path(optsandbox.__file__).parent
        removed = 0
        for cache in root.rglob("__pycache__"):
            for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
                f.unlink()
                removed += 1
        console.print(f"removed {removed} cached kernel files")
    names = list(registry.scenario_paths())
    with _progress() as progress:
        task = progress.add_task("compiling kernels", total=len(names))
        for name in names:
            # A few iterations and one seed are enough to compile (or load) every kernel a scenario uses.
            runner.compile_kernels(scenario_mod.load(name, quick=True, iterations=5, seeds=1))
            progress.advance(task)
    console.print(f"kernels of {len(names)} scenarios compiled and cached")


@app.command()
@_guard
def bench(
    family: Optional[str] = typer.Argument(None, help="only this family"),
    repeat: int = typer.Option(5, "--repeat", min=1, help="timed repetitions (best is kept)"),
):
    """Time each family's kernels against plain NumPy versions of the same update; print the ratios."""
    from . import bench as bench_mod

    families = [family] if family else registry.families()
    for f in families:
        registry.catalog(f)  # unknown family -> exit 2
    console.print(bench_mod.run_benchmarks(families, repeat=repeat, progress=err))


@app.command()
@_guard
def gallery(out: Path = typer.Option(Path("plots/gallery"), "--out", help="where the gallery goes")):
    """Regenerate the README's plot gallery (one figure per gallery scenario, full budgets)."""
    from . import rates, scenario as scenario_mod
    from .plotting import plot_scenario

    names = [n for n, p in registry.scenario_paths().items() if n in GALLERY]
    for name in names:
        sc = scenario_mod.load(name)
        traces, _ = execute(sc, label=name)
        v = rates.verdicts(sc, traces)
        path = plot_scenario(sc, traces, v.bounds, out / f"{name}.png", _units(sc.family))
        console.print(f"{name}: {path}")


GALLERY = ("classification-lower-bound-sweep", "classification-large-step", "bilevel-borep-far-start",
           "bilevel-penalty-bias",
           "monotone-halpern-rate", "online-oomd-plateau", "games-euler-contraction",
           "zeroth_order-fzoos-vs-fedzo", "consensus-cbo-rate-anisotropic", "policy_gradient-lqr-rates",
           "compression-econtrol-linear", "privacy-utility-vs-n")


def _register_family_commands() -> None:
    """Let families add commands (e.g. `certify`); their hooks import no kernel."""
    for c in registry.catalogs():
        if c.cli:
            try:
                registry.load_entry(c.cli)(app)
            except Exception as exc:  # a broken family hook must not take the other commands down
                err.print(f"warning: commands of family {c.family!r} skipped: {type(exc).__name__}: {exc}")


_register_family_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
