"""The Table type: every rendering carries the same values."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from glassnet._engine.table import Table, format_value
from glassnet.errors import ShapeError


@pytest.fixture
def table():
    return Table(["layer", "count", "mean", "shape"],
                 [("dense", np.int64(1600), np.float32(0.25), (64, 25)),
                  ("out|put", 10, float("nan"), (10,))],
                 title="Weights", notes=["a note"])


def test_values_become_plain_python(table):
    assert table.rows[0] == ("dense", 1600, 0.25, "64×25")
    assert type(table.rows[0][1]) is int and type(table.rows[0][2]) is float
    assert table["count"] == [1600, 10]
    assert table.to_records()[1]["shape"] == "10"


def test_csv_round_trip(table):
    rows = list(csv.reader(io.StringIO(table.to_csv())))
    assert rows[0] == ["layer", "count", "mean", "shape"]
    assert rows[1] == ["dense", "1600", "0.25", "64×25"]
    assert math.isnan(float(rows[2][2]))


def test_json_is_strict_and_nan_becomes_null(table):
    data = json.loads(table.to_json())
    assert data["title"] == "Weights" and data["notes"] == ["a note"]
    assert data["rows"][0] == ["dense", 1600, 0.25, "64×25"]
    assert data["rows"][1][2] is None


def test_markdown_has_header_alignment_and_escapes(table):
    lines = table.to_markdown().splitlines()
    assert lines[0] == "### Weights"
    assert lines[2] == "| layer | count | mean | shape |"
    assert lines[3] == "|---|---:|---:|---|"
    assert lines[5].startswith("| out\\|put | 10 | nan |")


def test_str_is_a_terminal_table_without_wrapping(table):
    text = str(table)
    assert "Weights" in text and "1600" in text and "0.25" in text and "a note" in text
    assert all("dense" not in line or "1600" in line for line in text.splitlines())


def test_row_of_wrong_length_is_refused():
    with pytest.raises(ShapeError, match="row 0 has 1 values, expected 2"):
        Table(["a", "b"], [(1,)], title="t")


def test_unknown_column_is_named():
    with pytest.raises(KeyError, match="no column 'zz'"):
        Table(["a"], [(1,)])["zz"]


@pytest.mark.parametrize("value, text", [
    (0.0, "0"), (1.0, "1"), (0.123456, "0.1235"), (123456.0, "1.235e+05"),
    (1234567.0, "1.235e+06"), (2.5e-05, "2.500e-05"), (-3, "-3"), (True, "yes"),
    (None, ""), (float("inf"), "inf"),
])
def test_format_value(value, text):
    assert format_value(value) == text


# -- fitting a terminal -------------------------------------------------------------------
def _printed(table, width):
    """What the command prints for ``table`` at ``width`` columns (via cli.common.emit)."""
    import io

    from rich.console import Console

    from glassnet._engine.table import terminal_parts

    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, soft_wrap=False)
    for part in terminal_parts(table, width):
        body = part.rich_table(width)
        body.title = body.caption = None
        console.print(body)
    return out.getvalue()


def wide_table():
    return Table(["run", "epoch", "layer", *(f"statistic_{i}" for i in range(8))],
                 [("demo (abc)", e, name, *(0.001234567 * (i + 1) * (e + 1) for i in range(8)))
                  for e in range(3) for name in ("dense", "output")], title="Wide",
                 notes=["a note"])


def test_a_single_runs_column_goes_into_the_title():
    from glassnet._engine.table import terminal_parts

    (part,) = terminal_parts(Table(["run", "x"], [("demo (abc)", 1.0), ("demo (abc)", 2.0)],
                                   title="T"), 80)
    assert part.columns == ["x"] and part.title == "T, run demo (abc)"
    # two runs: the column stays; a one-row table keeps it too
    two = Table(["run", "x"], [("a", 1.0), ("b", 2.0)], title="T")
    assert terminal_parts(two, 80)[0].columns == ["run", "x"]
    assert terminal_parts(Table(["run", "x"], [("a", 1.0)]), 80)[0].columns == ["run", "x"]


def test_a_wide_table_splits_into_parts_that_fit_repeating_its_keys():
    from glassnet._engine.table import terminal_parts

    table = wide_table()
    parts = terminal_parts(table, 80)
    assert len(parts) == 2
    assert [p.columns[:2] for p in parts] == [["epoch", "layer"], ["epoch", "layer"]]
    stats = [c for p in parts for c in p.columns[2:]]
    assert stats == [f"statistic_{i}" for i in range(8)]  # each column once, in order
    first = ", ".join(parts[0].columns[2:])
    second = ", ".join(parts[1].columns[2:])
    assert parts[0].notes == [f"too wide for 80 columns, split in 2 parts (part 1: {first}; "
                              f"part 2: {second}); epoch, layer repeated in each"]
    assert parts[1].notes == ["a note"]
    assert [p.title for p in parts] == ["Wide, run demo (abc) (part 1 of 2)",
                                        "Wide, run demo (abc) (part 2 of 2)"]
    # every part's rows are the table's rows, in order
    for part in parts:
        for row, original in zip(part.rows, table.rows, strict=True):
            assert list(row) == [original[table.columns.index(c)] for c in part.columns]


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_printed_parts_fit_and_no_number_is_cut(width):
    text = _printed(wide_table(), width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    numbers = {format_value(0.001234567 * (i + 1) * (e + 1)) for i in range(8) for e in range(3)}
    printed = {cell.strip() for line in lines if line.startswith("│")
               for cell in line.strip("│").split("│")}
    assert numbers <= printed  # every number whole, as format_value writes it


def test_text_wraps_at_spaces_before_a_table_is_split():
    from glassnet._engine.table import column_widths, terminal_parts

    table = Table(["id", "config", "value"],
                  [("a1", "hidden=25,15 activation=relu optimizer=adam learning_rate=0.001",
                    0.123456)])
    (part,) = terminal_parts(table, 50)
    widths = column_widths(part, 50)
    assert widths[2] == len("0.1235") and widths[0] == 2  # the number and the name whole
    assert widths[1] >= len("learning_rate=0.001")  # the longest word stays whole
    assert sum(widths) + 3 * 3 + 1 <= 50
    text = _printed(table, 50)
    assert "learning_rate=0.001" in text and "0.1235" in text


def test_str_of_a_table_is_its_text_in_a_jupyter_kernel_too(monkeypatch):
    # In a kernel rich would send the table to the notebook's display and return "".
    import rich.console

    from glassnet._engine.table import Table

    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    text = str(Table(["a", "b"], [[1, 2.5]], title="T"))
    assert "2.5" in text and "a" in text
