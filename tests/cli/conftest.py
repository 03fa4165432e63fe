"""Fixtures for the command's tests: one store filled by real commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import Result, run_cli


@dataclass
class Filled:
    folder: Path          # the folder the demo ran in
    store: Path           # folder/glassnet-runs
    demo: Result
    demo_id: str
    coffee: Result
    coffee_id: str


@pytest.fixture(scope="session")
def filled(tmp_path_factory) -> Filled:
    """One real `glassnet demo` (the full 30 epochs) and one `glassnet train` on coffee."""
    folder = tmp_path_factory.mktemp("demo-folder")
    demo = run_cli("demo", cwd=folder)
    assert demo.exit_code == 0, demo.stderr or demo.exception
    store = folder / "glassnet-runs"
    demo_id = _recorded_id(demo.stdout)
    coffee = run_cli("train", "--dataset", "coffee", "--hidden", "3", "--activation", "tanh",
                     "--epochs", "4", "--name", "coffee-tanh", "--store", store)
    assert coffee.exit_code == 0, coffee.stderr or coffee.exception
    return Filled(folder, store, demo, demo_id, coffee, _recorded_id(coffee.stdout))


def _recorded_id(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("Recorded run "))
    return line.split()[2]
