"""Names -> algorithms, problems and scenarios, without importing any kernel.

Families are found by walking the subpackages of ``optsandbox`` for a ``CATALOG``; a family's
``__init__`` holds only metadata, so listing stays instant. Implementations are imported through
:func:`load_entry` when a run needs them.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path

from .api import AlgorithmSpec, Catalog, ProblemSpec

_NOT_FAMILIES = {"kernels", "_problems"}


class RegistryError(LookupError):
    """An unknown name; the message lists what is known."""


@lru_cache(maxsize=None)
def catalogs() -> tuple[Catalog, ...]:
    """Return the catalog of every family package, sorted by family name."""
    import optsandbox

    found = []
    for info in pkgutil.iter_modules(optsandbox.__path__):
        if not info.ispkg or info.name in _NOT_FAMILIES:
            continue
        try:
            module = importlib.import_module(f"optsandbox.{info.name}")
        except Exception as exc:  # a broken family must not take the whole CLI down with it
            import sys

            print(f"warning: family {info.name!r} skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        catalog = getattr(module, "CATALOG", None)
        if isinstance(catalog, Catalog):
            found.append(catalog)
    return tuple(sorted(found, key=lambda c: c.family))


def families() -> list[str]:
    return [c.family for c in catalogs()]


def catalog(family: str) -> Catalog:
    for c in catalogs():
        if c.family == family:
            return c
    raise RegistryError(f"unknown family {family!r}; known: {', '.join(families())}")


def algorithms() -> list[tuple[str, AlgorithmSpec]]:
    """Return (family, spec) for every registered algorithm."""
    return [(c.family, a) for c in catalogs() for a in c.algorithms]


def problems() -> list[tuple[str, ProblemSpec]]:
    """Return (family, spec) for every registered problem."""
    return [(c.family, p) for c in catalogs() for p in c.problems]


def algorithm(family: str, name: str) -> AlgorithmSpec:
    for a in catalog(family).algorithms:
        if a.name == name:
            return a
    known = ", ".join(a.name for a in catalog(family).algorithms)
    raise RegistryError(f"unknown algorithm {name!r} in family {family!r}; known: {known}")


def problem(family: str, name: str) -> ProblemSpec:
    for p in catalog(family).problems:
        if p.name == name:
            return p
    known = ", ".join(p.name for p in catalog(family).problems)
    raise RegistryError(f"unknown problem {name!r} in family {family!r}; known: {known}")


def find_any(name: str) -> list[tuple[str, str, object]]:
    """Return every (kind, family, spec) whose name is ``name`` (algorithm, problem or scenario)."""
    hits: list[tuple[str, str, object]] = []
    for fam, a in algorithms():
        if a.name == name:
            hits.append(("algorithm", fam, a))
    for fam, p in problems():
        if p.name == name:
            hits.append(("problem", fam, p))
    path = scenario_paths().get(name)
    if path is not None:
        hits.append(("scenario", "", path))
    return hits


def load_entry(entry: str):
    """Import ``"package.module:function"`` and return the function."""
    module_name, _, attr = entry.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def scenario_dir() -> Path:
    """Return the folder of scenario files: ./problems in a checkout, the shipped copy otherwise."""
    checkout = Path(__file__).resolve().parent.parent / "problems"
    if checkout.is_dir():
        return checkout
    import importlib.util

    # The shipped copy is a namespace package (no __init__.py among the TOML files): ask for its folder.
    spec = importlib.util.find_spec("optsandbox._problems")
    if spec is None or not spec.submodule_search_locations:
        raise RegistryError("no scenario files found: neither ./problems nor the installed copy")
    return Path(list(spec.submodule_search_locations)[0])


def scenario_paths() -> dict[str, Path]:
    """Return scenario name -> TOML path for every shipped scenario (name = file stem)."""
    root = scenario_dir()
    return {p.stem: p for p in sorted(root.rglob("*.toml"))}
