"""The Table type: every rendering carries the same values."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from glassnet.errors import ShapeError
from glassnet.table import Table, format_value


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
