"""Load and validate a scenario TOML file; merge ``--set key=value`` overrides.

A scenario is input, not code: every key is checked against what is allowed, and every error names the
file, the key, the value found and what is allowed, in one line (:class:`ScenarioError`).
"""
from __future__ import annotations

import copy
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from . import registry
from .api import AlgorithmSpec, Param

FORMS = ("power", "exp", "log", "count")
TOP_KEYS = ("name", "family", "title", "paper", "problem", "run", "quick", "algorithm", "bound", "claim",
            "sweep", "target", "panel")
PANEL_KEYS = ("metric", "axis", "xscale", "yscale", "algorithms", "title")
SCALES = ("linear", "log", "symlog")
RUN_KEYS = ("iterations", "seeds", "record_every", "seed")
QUICK_KEYS = ("iterations", "seeds", "record_every", "values")
BOUND_KEYS = ("metric", "axis", "form", "rate", "tolerance", "algorithms", "tail", "text", "better")
CLAIM_KEYS = ("text", "check")
SWEEP_KEYS = ("parameter", "values")
TARGET_KEYS = ("metric", "value", "axis")


_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message is one readable line."""


@dataclass
class AlgorithmEntry:
    id: str  # unique within the scenario; claims and --algo refer to it
    name: str  # registered algorithm name
    params: dict  # every parameter of the spec, defaults filled in
    spec: AlgorithmSpec


@dataclass
class Bound:
    metric: str
    axis: str
    form: str
    rate: Any  # "theory" or a number (exponent, rate or count bound per form)
    tolerance: float
    algorithms: tuple[str, ...]  # ids the bound speaks of
    tail: float  # fraction of the recorded curve (by axis, in log scale for power) used for the fit
    text: str = ""
    # Which exponent beats the theorem. "smaller" for a bound C t^p as t grows (the default); "larger" for an
    # axis that shrinks towards its limit, e.g. a penalty gap <= C sigma^1 as sigma -> 0, where a steeper
    # (larger) slope is the faster decay.
    better: str = "smaller"


@dataclass
class Claim:
    text: str
    check: str


@dataclass
class Sweep:
    parameter: str  # "problem.n" or "algorithm.gamma"
    values: list


@dataclass
class Target:
    metric: str
    value: float
    axis: str


@dataclass
class Panel:
    """An extra figure panel: a recorded metric against an axis, median and band over seeds, no bound."""

    metric: str
    axis: str
    xscale: str
    yscale: str
    algorithms: tuple[str, ...]
    title: str = ""


@dataclass
class Scenario:
    name: str
    family: str
    title: str
    paper: str
    path: str
    problem: str
    problem_params: dict
    iterations: int
    seeds: int
    record_every: int
    seed: int
    algorithms: list[AlgorithmEntry]
    bounds: list[Bound] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    sweep: Sweep | None = None
    target: Target | None = None
    panels: list[Panel] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)

    def algorithm(self, algo_id: str) -> AlgorithmEntry:
        for a in self.algorithms:
            if a.id == algo_id:
                return a
        raise ScenarioError(f"{self.path}: no algorithm with id {algo_id!r}; ids: {self.ids()}")

    def ids(self) -> str:
        return ", ".join(a.id for a in self.algorithms)


# ---------------------------------------------------------------------------------------------------
# Loading


def resolve(name_or_path: str) -> Path:
    """Return the TOML file for a scenario name or a path; ScenarioError if there is none."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ScenarioError(f"{name_or_path}: no such scenario file")
        return candidate
    paths = registry.scenario_paths()
    if name_or_path in paths:
        return paths[name_or_path]
    close = [n for n in paths if name_or_path in n or n in name_or_path][:5]
    hint = f"; did you mean: {', '.join(close)}" if close else "; see `optsandbox list scenarios`"
    raise ScenarioError(f"unknown scenario {name_or_path!r}{hint}")


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None


def load(name_or_path: str, overrides: list[str] | tuple[str, ...] = (), quick: bool = False,
         iterations: int | None = None, seeds: int | None = None) -> Scenario:
    """Read, override and validate a scenario.

    Precedence: the file, then its ``[quick]`` table when ``quick``, then ``--set`` overrides, then the
    explicit ``iterations``/``seeds`` arguments.
    """
    path = resolve(name_or_path)
    raw = read_toml(path)
    raw = copy.deepcopy(raw)
    where = str(path)
    if quick:
        q = raw.get("quick", {})
        _check_keys(where, "quick", q, QUICK_KEYS)
        run = raw.setdefault("run", {})
        for key in ("iterations", "seeds", "record_every"):
            if key in q:
                run[key] = q[key]
        if "values" in q:
            if "sweep" not in raw:
                raise ScenarioError(f"{where}: quick.values: the scenario has no [sweep] table")
            raw["sweep"]["values"] = q["values"]
    for item in overrides:
        apply_override(raw, item, where)
    if iterations is not None:
        raw.setdefault("run", {})["iterations"] = iterations
    if seeds is not None:
        raw.setdefault("run", {})["seeds"] = seeds
    return validate(raw, where)


def parse_value(text: str) -> Any:
    """Parse an override's value as a TOML literal (1e3, true, "x", [1, 2]); bare words stay strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict, item: str, where: str) -> None:
    """Apply one ``key=value`` override in place.

    Keys: ``problem.K``, ``run.K``, ``quick.K``, ``sweep.K``, ``algorithm.K`` (every algorithm that has
    parameter K) and ``algorithm.ID.K`` (one algorithm, by id).
    """
    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected key=value, e.g. problem.n=1000")
    key, _, text = item.partition("=")
    key = key.strip()
    value = parse_value(text.strip())
    parts = key.split(".")
    section = parts[0]
    if section in ("problem", "run", "quick", "sweep", "target") and len(parts) == 2:
        raw.setdefault(section, {})[parts[1]] = value
        return
    if section == "algorithm" and len(parts) in (2, 3):
        entries = raw.get("algorithm", [])
        if len(parts) == 3:
            targets = [e for e in entries if _entry_id(e) == parts[1]]
            if not targets:
                ids = ", ".join(_entry_id(e) for e in entries)
                raise ScenarioError(f"--set {key}: no algorithm with id {parts[1]!r}; ids: {ids}")
            targets[0][parts[2]] = value
            return
        name = parts[1]
        hit = False
        for e in entries:
            spec = _spec_or_none(raw.get("family"), e.get("name"))
            if spec is not None and any(p.name == name for p in spec.params):
                e[name] = value
                hit = True
        if not hit:
            raise ScenarioError(f"--set {key}: no algorithm of this scenario has a parameter {name!r}")
        return
    raise ScenarioError(
        f"--set {key}: unknown key; use problem.K, run.K, algorithm.K or algorithm.ID.K")


def _entry_id(entry: dict) -> str:
    return str(entry.get("id", entry.get("name", "")))


def _spec_or_none(family, name):
    try:
        return registry.algorithm(family, name)
    except (registry.RegistryError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------------
# Validation


def _check_keys(where: str, section: str, table: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: [{section}] must be a table, found {type(table).__name__}")
    for key in table:
        if key not in allowed:
            raise ScenarioError(
                f"{where}: unknown key {section}.{key}; allowed: {', '.join(allowed)}")


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value),
                                                                                type(value).__name__)


def check_param(where: str, key: str, value: Any, param: Param) -> Any:
    """Return ``value`` coerced to the parameter's type, or raise ScenarioError."""
    default = param.default
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ScenarioError(f"{where}: {key} = {value}: must be finite")
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, list)
    else:
        ok = True
    if not ok:
        raise ScenarioError(
            f"{where}: {key} = {value!r}: expected {_type_name(default)}, found {_type_name(value)}")
    if param.choices and value not in param.choices:
        raise ScenarioError(
            f"{where}: {key} = {value!r}: allowed values: {', '.join(map(str, param.choices))}")
    if param.minimum is not None and isinstance(value, (int, float)) and value < param.minimum:
        raise ScenarioError(f"{where}: {key} = {value!r}: must be >= {param.minimum:g}")
    return value


def fill_params(where: str, section: str, given: dict, params: tuple[Param, ...],
                ignore: tuple[str, ...] = ()) -> dict:
    """Return every parameter with defaults filled in; unknown keys and wrong types are errors."""
    known = {p.name: p for p in params}
    out = {p.name: p.default for p in params}
    for key, value in given.items():
        if key in ignore:
            continue
        if key not in known:
            allowed = ", ".join(known) or "(none)"
            raise ScenarioError(f"{where}: unknown key {section}.{key}; allowed: {allowed}")
        out[key] = check_param(where, f"{section}.{key}", value, known[key])
    return out


def _positive_int(where: str, key: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: {key} = {value!r}: expected integer, found {_type_name(value)}")
    if value < minimum:
        raise ScenarioError(f"{where}: {key} = {value}: must be >= {minimum}")
    return value


def _string(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: {key} = {value!r}: expected string, found {_type_name(value)}")
    return value


def validate(raw: dict, where: str) -> Scenario:
    """Turn a parsed TOML document into a Scenario, or raise ScenarioError naming the first problem."""
    _check_keys(where, "scenario", raw, TOP_KEYS)
    for key in ("name", "family", "problem", "algorithm"):
        if key not in raw:
            raise ScenarioError(f"{where}: missing required key {key!r}")
    name = _string(where, "name", raw["name"])
    family = _string(where, "family", raw["family"])
    if family not in registry.families():
        raise ScenarioError(
            f"{where}: family = {family!r}: unknown; known: {', '.join(registry.families())}")

    prob = raw["problem"]
    if not isinstance(prob, dict) or "name" not in prob:
        raise ScenarioError(f"{where}: [problem] must be a table with a name")
    try:
        pspec = registry.problem(family, prob["name"])
    except registry.RegistryError as exc:
        raise ScenarioError(f"{where}: problem.name: {exc}") from None
    problem_params = fill_params(where, "problem", prob, pspec.params, ignore=("name",))

    run = raw.get("run", {})
    _check_keys(where, "run", run, RUN_KEYS)
    iterations = _positive_int(where, "run.iterations", run.get("iterations", 100), minimum=1)
    seeds = _positive_int(where, "run.seeds", run.get("seeds", 1), minimum=1)
    record_every = _positive_int(where, "run.record_every", run.get("record_every", 1), minimum=1)
    seed = _positive_int(where, "run.seed", run.get("seed", 0), minimum=0)
    if "quick" in raw:
        _check_keys(where, "quick", raw["quick"], QUICK_KEYS)

    entries = raw["algorithm"]
    if not isinstance(entries, list) or not entries:
        raise ScenarioError(f"{where}: [[algorithm]] must list at least one algorithm")
    algorithms: list[AlgorithmEntry] = []
    for i, entry in enumerate(entries):
        section = f"algorithm[{i}]"
        if not isinstance(entry, dict) or "name" not in entry:
            raise ScenarioError(f"{where}: {section} must be a table with a name")
        try:
            spec = registry.algorithm(family, entry["name"])
        except registry.RegistryError as exc:
            raise ScenarioError(f"{where}: {section}.name: {exc}") from None
        algo_id = _string(where, f"{section}.id", entry.get("id", spec.name))
        if not _ID.fullmatch(algo_id):
            raise ScenarioError(f"{where}: {section}.id = {algo_id!r}: use letters, digits and underscores "
                                f"(claims and --set refer to it)")
        params = fill_params(where, section, entry, spec.params, ignore=("name", "id"))
        if any(a.id == algo_id for a in algorithms):
            raise ScenarioError(
                f"{where}: {section}: duplicate id {algo_id!r}; give each entry a distinct id")
        algorithms.append(AlgorithmEntry(algo_id, spec.name, params, spec))
    ids = tuple(a.id for a in algorithms)

    sweep = None
    if "sweep" in raw:
        s = raw["sweep"]
        _check_keys(where, "sweep", s, SWEEP_KEYS)
        parameter = _string(where, "sweep.parameter", s.get("parameter"))
        values = s.get("values")
        if not isinstance(values, list) or len(values) < 2:
            raise ScenarioError(f"{where}: sweep.values must list at least two values")
        section, _, pname = parameter.partition(".")
        if section == "problem":
            param = next((p for p in pspec.params if p.name == pname), None)
            if param is None:
                raise ScenarioError(f"{where}: sweep.parameter = {parameter!r}: problem has no {pname!r}")
            values = [check_param(where, "sweep.values", v, param) for v in values]
        elif section == "algorithm":
            holders = [a for a in algorithms if pname in a.params]
            if not holders:
                raise ScenarioError(f"{where}: sweep.parameter = {parameter!r}: no algorithm has {pname!r}")
            param = next(p for p in holders[0].spec.params if p.name == pname)
            values = [check_param(where, "sweep.values", v, param) for v in values]
        else:
            raise ScenarioError(
                f"{where}: sweep.parameter = {parameter!r}: must be problem.K or algorithm.K")
        sweep = Sweep(parameter, values)

    target = None
    if "target" in raw:
        t = raw["target"]
        _check_keys(where, "target", t, TARGET_KEYS)
        value = t.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where}: target.value = {value!r}: expected number")
        target = Target(_string(where, "target.metric", t.get("metric")), float(value),
                        _string(where, "target.axis", t.get("axis", "iteration")))

    bounds = []
    for i, b in enumerate(raw.get("bound", [])):
        section = f"bound[{i}]"
        _check_keys(where, section, b, BOUND_KEYS)
        metric = _string(where, f"{section}.metric", b.get("metric"))
        form = _string(where, f"{section}.form", b.get("form", "power"))
        if form not in FORMS:
            raise ScenarioError(f"{where}: {section}.form = {form!r}: allowed values: {', '.join(FORMS)}")
        axis = _string(where, f"{section}.axis", b.get("axis", "iteration"))
        rate = b.get("rate", "theory")
        if rate != "theory" and (isinstance(rate, bool) or not isinstance(rate, (int, float))):
            raise ScenarioError(f"{where}: {section}.rate = {rate!r}: expected \"theory\" or a number")
        tolerance = b.get("tolerance", 0.1)
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise ScenarioError(f"{where}: {section}.tolerance = {tolerance!r}: expected a number >= 0")
        tail = b.get("tail", 0.5)
        if isinstance(tail, bool) or not isinstance(tail, (int, float)) or not 0 < tail <= 1:
            raise ScenarioError(f"{where}: {section}.tail = {tail!r}: expected a number in (0, 1]")
        names = b.get("algorithms", list(ids))
        if not isinstance(names, list):
            raise ScenarioError(f"{where}: {section}.algorithms must be a list of algorithm ids")
        for n in names:
            if n not in ids:
                raise ScenarioError(
                    f"{where}: {section}.algorithms: unknown id {n!r}; ids: {', '.join(ids)}")
        if sweep is not None and axis == sweep.parameter.partition(".")[2] and form not in ("power",
                                                                                           "count"):
            raise ScenarioError(f"{where}: {section}: a bound over the swept parameter must be "
                                f"form = \"power\" (slope) or \"count\"")
        better = _string(where, f"{section}.better", b.get("better", "smaller"))
        if better not in ("smaller", "larger"):
            raise ScenarioError(f"{where}: {section}.better = {better!r}: allowed values: smaller, larger")
        if better == "larger" and form not in ("power",):
            raise ScenarioError(f"{where}: {section}.better = \"larger\" applies to form = \"power\" only")
        bounds.append(Bound(metric, axis, form, rate if rate == "theory" else float(rate),
                            float(tolerance), tuple(names), float(tail),
                            _string(where, f"{section}.text", b.get("text", "")), better))

    panels = []
    for i, p in enumerate(raw.get("panel", [])):
        section = f"panel[{i}]"
        _check_keys(where, section, p, PANEL_KEYS)
        scales = []
        for key, default in (("xscale", "log"), ("yscale", "log")):
            value = _string(where, f"{section}.{key}", p.get(key, default))
            if value not in SCALES:
                raise ScenarioError(f"{where}: {section}.{key} = {value!r}: allowed values: {', '.join(SCALES)}")
            scales.append(value)
        names = p.get("algorithms", list(ids))
        if not isinstance(names, list) or any(n not in ids for n in names):
            raise ScenarioError(f"{where}: {section}.algorithms: expected a list of ids among {', '.join(ids)}")
        panels.append(Panel(_string(where, f"{section}.metric", p.get("metric")),
                            _string(where, f"{section}.axis", p.get("axis", "iteration")), scales[0], scales[1],
                            tuple(names), _string(where, f"{section}.title", p.get("title", ""))))

    claims = []
    from .claims import ClaimSyntaxError, parse

    for i, c in enumerate(raw.get("claim", [])):
        section = f"claim[{i}]"
        _check_keys(where, section, c, CLAIM_KEYS)
        check = _string(where, f"{section}.check", c.get("check"))
        try:
            parse(check)
        except ClaimSyntaxError as exc:
            raise ScenarioError(f"{where}: {section}.check: {exc}") from None
        claims.append(Claim(_string(where, f"{section}.text", c.get("text", check)), check))

    return Scenario(
        name=name, family=family, title=_string(where, "title", raw.get("title", name)),
        paper=_string(where, "paper", raw.get("paper", "")), path=where, problem=pspec.name,
        problem_params=problem_params, iterations=iterations, seeds=seeds,
        record_every=record_every, seed=seed, algorithms=algorithms, bounds=bounds, claims=claims,
        sweep=sweep, target=target, panels=panels, raw=raw)


def select(scenario: Scenario, algo_ids: list[str] | tuple[str, ...]) -> Scenario:
    """Return the scenario restricted to the given algorithm ids (or names)."""
    if not algo_ids:
        return scenario
    keep = []
    for wanted in algo_ids:
        hits = [a for a in scenario.algorithms if a.id == wanted or a.name == wanted]
        if not hits:
            raise ScenarioError(f"--algo {wanted!r}: not in scenario {scenario.name}; ids: {scenario.ids()}")
        keep.extend(h for h in hits if h not in keep)
    out = copy.copy(scenario)
    out.algorithms = keep
    ids = {a.id for a in keep}
    out.bounds = [b for b in scenario.bounds if set(b.algorithms) & ids]
    return out
