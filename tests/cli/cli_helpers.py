"""Helpers for the command's tests: run `glassnet` in-process, read rich table rows."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from glassnet.cli import cli


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def run_cli(*args, cwd: Path | None = None) -> Result:
    """Run ``glassnet ARGS`` in ``cwd`` with GLASSNET_STORE unset; stdout and stderr apart."""
    runner = CliRunner(env={"GLASSNET_STORE": None, "COLUMNS": None})
    before = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(before)
    return Result(result.exit_code, result.stdout, result.stderr, result.exception)


def cells(line: str) -> list[str]:
    """The cells of one rich table row, stripped: '│ a │  b │' -> ['a', 'b']."""
    return [c.strip() for c in line.strip().strip("│┃").split("│" if "│" in line else "┃")]


def rows_of(output: str) -> list[list[str]]:
    return [cells(line) for line in output.splitlines() if line.startswith(("│", "┃"))]


