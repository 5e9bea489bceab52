"""The plug-in contract: what a family declares, what its problems build and its algorithms return.

A family folder (``optsandbox/<family>/``) holds one paper's world. Its ``__init__.py`` exports
``CATALOG``, a :class:`Catalog` of plain metadata -- no numpy, no numba -- so that ``optsandbox list``
and ``info`` never import a kernel. Each spec names its implementation by an entry string
``"module:function"``, imported only when a run needs it.

The two callables a family implements:

``build(params: dict, rng: numpy.random.Generator) -> Instance``
    A problem builder. ``params`` holds every key of the problem's :class:`Param` list, defaults filled
    in. The instance carries the flat float64 ``data`` array the family's oracles read, the oracle
    functions to hand to the kernel, and a ``reference``: quantities known independently of any
    algorithm (closed-form optimum, value computed by scipy, margin, smoothness constant).

``run(instance: Instance, params: dict, budget: Budget, rng: numpy.random.Generator) -> Result``
    An algorithm runner: a thin Python wrapper that allocates the record array, calls the jitted kernel,
    and turns its rows into named columns. It also computes the theorem's prediction for this run
    (``Result.theory``), because only it knows both the problem constants and the step sizes.

Everything here is a frozen dataclass: specs are data, not behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Stop reasons a kernel reports (its status code) and the words used for them in tables and JSON.
STATUS_BUDGET = 0  # ran the whole iteration budget
STATUS_CONVERGED = 1  # reached the algorithm's own stopping event (e.g. data separated, target reached)
STATUS_NON_FINITE = 2  # NaN or inf appeared: reported as divergence
STATUS_DIVERGED = 3  # a divergence threshold was crossed (e.g. ||x|| > 1e100)
STATUS_INTERRUPTED = 4  # the user stopped the run; the rows recorded so far are kept

STATUS_NAMES = {
    STATUS_BUDGET: "budget",
    STATUS_CONVERGED: "converged",
    STATUS_NON_FINITE: "diverged",
    STATUS_DIVERGED: "diverged",
    STATUS_INTERRUPTED: "interrupted",
}


@dataclass(frozen=True)
class Param:
    """One named hyperparameter or problem parameter with its default and meaning."""

    name: str
    default: Any
    doc: str
    choices: tuple = ()  # allowed values for a string parameter; empty = any value of the default's type
    minimum: float | None = None  # inclusive lower bound for numbers, checked at validation


@dataclass(frozen=True)
class AlgorithmSpec:
    """Metadata of one algorithm: enough to list it, explain it and validate a scenario's parameters."""

    name: str
    title: str
    paper: str
    update_rule: str  # the update in the paper's symbols, one or a few lines
    proven_rate: str  # the theorem's bound in words, e.g. "T_sep <= n R^2 / mu^2"
    oracles: tuple[str, ...]  # what a run counts, e.g. ("sample_evals",)
    params: tuple[Param, ...]
    entry: str  # "optsandbox.family.module:run_function"
    baseline: bool = False  # True for a method that is a comparison point, not one of the papers' own


@dataclass(frozen=True)
class ProblemSpec:
    """Metadata of one synthetic problem and what is known about its solution."""

    name: str
    title: str
    known: str  # how the reference answer is obtained (closed form, NNLS, Riccati, ...)
    params: tuple[Param, ...]
    entry: str  # "optsandbox.family.module:build_function"


@dataclass(frozen=True)
class Catalog:
    """Everything a family registers. ``axes`` maps a column name to its axis label with unit."""

    family: str
    title: str
    algorithms: tuple[AlgorithmSpec, ...]
    problems: tuple[ProblemSpec, ...]
    axes: dict = field(default_factory=dict)
    benchmarks: str = ""  # "module:function" returning a list of BenchCase (see optsandbox.bench)
    cli: str = ""  # optional "module:function" taking the Typer app to add family commands (no numba import
    #                at module level: it runs on every start of the CLI)


@dataclass
class Instance:
    """A built problem: arrays for the kernel and the independently known answers."""

    data: Any  # flat float64 array read by the oracles
    oracles: dict  # name -> jitted oracle with the family's signature
    reference: dict  # name -> float or array known without running any algorithm
    dim: int = 0


@dataclass(frozen=True)
class Budget:
    """How long to run and how often to record."""

    iterations: int
    record_every: int = 1


@dataclass(frozen=True)
class Theory:
    """The theorem's prediction for one metric of one run.

    ``form`` follows the scenario's bound: for "power" ``value`` is the exponent p of C t^p, for "exp" the
    rate r of C exp(-r t), for "count" the bound on an event count, for "log" the exponent of the allowed
    polynomial growth (0: grows like log t at most). ``applicable`` is False when the run's parameters lie
    outside the theorem's conditions; ``condition`` then says which condition fails. For an applicable
    theorem, ``condition`` may carry a caveat shown beside the verdict (e.g. "constants estimated by
    sampling").
    """

    form: str
    value: float
    applicable: bool = True
    condition: str = ""


@dataclass
class Result:
    """What one algorithm run returns: recorded columns, scalar events, how it stopped, the theory."""

    columns: dict  # name -> 1-D float array, one entry per recorded row; always has "iteration"
    events: dict = field(default_factory=dict)  # name -> float, e.g. iterations_to_separation
    status: int = STATUS_BUDGET
    stop_iteration: int = -1  # iteration at which the kernel stopped (divergence or convergence)
    theory: dict = field(default_factory=dict)  # metric name -> Theory
    final: dict = field(default_factory=dict)  # name -> array (e.g. the last iterate), small


@dataclass(frozen=True)
class BenchCase:
    """One benchmark entry: the same update on the same problem, as a numba kernel and in plain NumPy.

    Both callables take no arguments (the problem is built beforehand) and do the same amount of work,
    described by ``work`` (e.g. "200 iterations of LR+GD, n=2000, d=50").
    """

    name: str
    run_numba: Any
    run_numpy: Any
    work: str = ""
