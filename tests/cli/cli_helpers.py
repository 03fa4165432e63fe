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


def run_cli(*args, cwd: Path | None = None, columns: int | None = None) -> Result:
    """Run ``glassnet ARGS`` in ``cwd`` with GLASSNET_STORE unset; stdout and stderr apart.

    ``columns``: the terminal width the command is told (COLUMNS); by default none, and
    output is as wide as it needs.
    """
    runner = CliRunner(env={"GLASSNET_STORE": None,
                            "COLUMNS": None if columns is None else str(columns)})
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




@dataclass
class Block:
    """One table as printed: the text line above it, its header and its rows (cells)."""

    above: str
    header: list[str]
    rows: list[list[str]]


def blocks_of(output: str) -> list[Block]:
    """Every rich table in ``output``; a cell wrapped over lines is joined with a space.

    A row's continuation lines are those whose first cell is empty.
    """
    found: list[Block] = []
    lines = output.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("┏"):
            i += 1
            continue
        above = lines[i - 1] if i else ""
        header_lines, rows = [], []
        i += 1
        while lines[i].startswith("┃"):
            header_lines.append(cells(lines[i]))
            i += 1
        i += 1  # the rule under the header
        while lines[i].startswith("│"):
            row = cells(lines[i])
            if rows and row[0] == "":
                rows[-1] = [_join(a, b) for a, b in zip(rows[-1], row, strict=True)]
            else:
                rows.append(row)
            i += 1
        header = [" ".join(p for p in parts if p) for parts in zip(*header_lines, strict=True)]
        found.append(Block(above, header, rows))
    return found


def _join(first: str, more: str) -> str:
    return f"{first} {more}".strip() if more else first
