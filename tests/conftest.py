"""Shared fixtures: a scratch results/plots folder per test, helpers to write scenario files."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in a temporary folder so that results/ and plots/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_scenario(tmp_path):
    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
