"""Run a scenario: every (algorithm, seed, swept value) as an independent job, here or in worker processes.

Seeds are derived from the scenario's base seed with :class:`numpy.random.SeedSequence`, keyed by the seed
index only -- never by the worker, the job order or the algorithm list -- so a run's numbers are the same
sequentially, with ``--jobs``, or on a Dask cluster, and the same when ``--algo`` filters the list:

* the problem instance of seed k is built from ``SeedSequence(seed, spawn_key=(k, 0))``: every algorithm
  of a scenario sees the same instance for the same k;
* every algorithm's own randomness comes from ``SeedSequence(seed, spawn_key=(k, 1))``: common random
  numbers across algorithms, which sharpens comparisons.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from . import registry
from .api import Budget, Instance, Result
from .scenario import Scenario
from .trace import Trace


@dataclass(frozen=True)
class Job:
    algorithm_id: str
    seed_index: int
    sweep_value: object = None


def jobs_for(scenario: Scenario) -> list[Job]:
    """Every job, ordered so that consecutive jobs share a problem instance (see :func:`run_jobs`)."""
    values = scenario.sweep.values if scenario.sweep else [None]
    return [Job(a.id, k, v) for v in values for k in range(scenario.seeds) for a in scenario.algorithms]


def problem_rng(scenario: Scenario, seed_index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(scenario.seed, spawn_key=(seed_index, 0)))


def algorithm_rng(scenario: Scenario, seed_index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(scenario.seed, spawn_key=(seed_index, 1)))


def resolved_params(scenario: Scenario, job: Job) -> tuple[dict, dict]:
    """Return (problem params, algorithm params) of a job, the swept value applied."""
    problem_params = dict(scenario.problem_params)
    algo = scenario.algorithm(job.algorithm_id)
    algo_params = dict(algo.params)
    if scenario.sweep is not None:
        section, _, name = scenario.sweep.parameter.partition(".")
        if section == "problem":
            problem_params[name] = job.sweep_value
        elif name in algo_params:
            algo_params[name] = job.sweep_value
    return problem_params, algo_params


def first_crossing(axis: np.ndarray, metric: np.ndarray, value: float) -> float:
    """Return the first axis value at which ``metric <= value``, or NaN if it never gets there."""
    hits = np.flatnonzero(metric <= value)
    return float(axis[hits[0]]) if hits.size else float("nan")


class InstanceCache:
    """Remembers the last built problem instance, so that the algorithms of one seed share one build.

    Builders can be expensive (a scipy solve for the reference answer); the instance depends only on the
    problem parameters and the seed index. Each run gets its own copy of the data array, so an algorithm
    that wrote into it could not affect the next one.
    """

    def __init__(self):
        self.key = None
        self.instance = None

    def get(self, scenario: Scenario, problem_params: dict, seed_index: int) -> Instance:
        key = (scenario.family, scenario.problem, repr(sorted(problem_params.items())), scenario.seed, seed_index)
        if key != self.key:
            pspec = registry.problem(scenario.family, scenario.problem)
            build = registry.load_entry(pspec.entry)
            self.instance = build(problem_params, problem_rng(scenario, seed_index))
            self.key = key
        inst = self.instance
        return Instance(data=np.array(inst.data, copy=True), oracles=inst.oracles, reference=dict(inst.reference),
                        dim=inst.dim)


def run_job(scenario: Scenario, job: Job, cache: InstanceCache | None = None) -> Trace:
    """Build the problem (or take it from ``cache``), run one algorithm on it, and return the Trace."""
    algo = scenario.algorithm(job.algorithm_id)
    problem_params, algo_params = resolved_params(scenario, job)
    run = registry.load_entry(algo.spec.entry)
    instance = (cache or InstanceCache()).get(scenario, problem_params, job.seed_index)
    budget = Budget(scenario.iterations, scenario.record_every)
    start = time.perf_counter()
    # A diverging run is reported through its status; NumPy's overflow warnings from metrics evaluated on
    # its last, huge iterate would only repeat that on stderr.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result: Result = run(instance, algo_params, budget, algorithm_rng(scenario, job.seed_index))
    wall = time.perf_counter() - start
    columns = {k: np.asarray(v, dtype=float) for k, v in result.columns.items()}
    events = {k: float(v) for k, v in result.events.items()}
    if scenario.target is not None:
        t = scenario.target
        if t.metric in columns and t.axis in columns:
            events[f"{t.axis}_to_target"] = first_crossing(columns[t.axis], columns[t.metric], t.value)
    reference = {k: float(v) for k, v in instance.reference.items()
                 if np.ndim(v) == 0 and isinstance(v, (int, float, np.integer, np.floating))}
    return Trace(
        scenario=scenario.name, family=scenario.family, algorithm_id=algo.id, algorithm=algo.name,
        params=algo_params, problem=scenario.problem, problem_params=problem_params,
        seed_index=job.seed_index, sweep_value=job.sweep_value, columns=columns, events=events,
        status=int(result.status), stop_iteration=int(result.stop_iteration),
        theory=dict(result.theory), reference=reference, wall_time=wall)


def run_jobs(scenario: Scenario, jobs: list[Job], n_jobs: int = 1,
             on_done: Callable[[Trace], None] | None = None, backend: str = "loky") -> list[Trace]:
    """Run the jobs and return their traces in job order; ``on_done`` sees each trace as it finishes.

    With ``n_jobs > 1`` the first job of each algorithm runs here first, so that the numba cache is warm
    before worker processes start (otherwise every worker would compile the same kernels at once).
    """
    done: dict[Job, Trace] = {}

    def finish(job: Job, trace: Trace) -> None:
        done[job] = trace
        if on_done is not None:
            on_done(trace)

    cache = InstanceCache()
    if n_jobs == 1 or len(jobs) <= 1:
        for job in jobs:
            finish(job, run_job(scenario, job, cache))
    else:
        seen: set[str] = set()
        for job in jobs:
            name = scenario.algorithm(job.algorithm_id).name
            if name not in seen:
                seen.add(name)
                finish(job, run_job(scenario, job, cache))
        rest = [j for j in jobs if j not in done]
        for job, trace in _parallel(scenario, rest, n_jobs, backend):
            finish(job, trace)
    return [done[j] for j in jobs if j in done]


def compile_kernels(scenario: Scenario) -> None:
    """Run one job per distinct algorithm so that every kernel it uses is compiled or loaded from the cache.

    Pass a scenario with a tiny budget (a few iterations, one seed): only the compilation matters.
    """
    cache = InstanceCache()
    seen: set[str] = set()
    value = scenario.sweep.values[0] if scenario.sweep else None
    for a in scenario.algorithms:
        if a.name not in seen:
            seen.add(a.name)
            run_job(scenario, Job(a.id, 0, value), cache)


def _run_pair(scenario: Scenario, job: Job) -> tuple[Job, Trace]:
    return job, run_job(scenario, job)


def _parallel(scenario: Scenario, jobs: list[Job], n_jobs: int, backend: str) -> Iterator[tuple[Job, Trace]]:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")
    yield from parallel(delayed(_run_pair)(scenario, job) for job in jobs)


def group(traces: Iterable[Trace]) -> dict[tuple[str, object], list[Trace]]:
    """Group traces by (algorithm id, swept value), seeds in order."""
    out: dict[tuple[str, object], list[Trace]] = {}
    for t in traces:
        out.setdefault((t.algorithm_id, t.sweep_value), []).append(t)
    for v in out.values():
        v.sort(key=lambda t: t.seed_index)
    return out
