"""At COLUMNS=80 every command's tables fit: no cut number, no line over 80 characters.

The numbers printed are read back and compared with the values the library computes
(the report tables, describe, the model summary, the runs' summaries): every one must
equal its stored value to 4 significant digits.
"""

from __future__ import annotations

import math
import re

import pytest
from cli_helpers import blocks_of, run_cli
from rich.cells import cell_len

import glassnet as gn
from glassnet._engine.table import format_value
from glassnet.cli.runs import final_metrics
from glassnet.inspect import describe
from glassnet.models.summary_table import summary_table

WIDTH = 80
NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)(e[+-]\d+)?")


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    """A store filled at 80 columns: the demo, a train, a sweep; then runs and report."""
    folder = tmp_path_factory.mktemp("narrow")
    store = folder / "glassnet-runs"
    out = {"store": store}
    out["demo"] = run_cli("demo", cwd=folder, columns=WIDTH)
    out["train"] = run_cli("train", "--dataset", "coffee", "--hidden", "3", "--epochs", "3",
                           "--store", store, columns=WIDTH)
    spec = folder / "s.toml"
    spec.write_text('dataset = "coffee"\ncv = 2\nseed = 1\n[fixed]\nepochs = 2\n'
                    '[params]\nlearning_rate = [0.01, 0.1]\n')
    out["sweep"] = (run_cli("sweep", spec, "--jobs", "1", "--store", store, columns=WIDTH)
                    if _have_sklearn() else None)
    for name in ("demo", "train"):
        assert out[name].exit_code == 0, out[name].stderr or out[name].exception
    out["demo_id"] = _recorded(out["demo"].stdout)
    out["runs"] = run_cli("runs", "--store", store, columns=WIDTH)
    out["report"] = run_cli("report", out["demo_id"], "--store", store, columns=WIDTH)
    return out


def _have_sklearn() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def _recorded(output: str) -> str:
    return next(line.split()[2] for line in output.splitlines()
                if line.startswith("Recorded run "))


def assert_fits(output: str) -> None:
    """No line wider than the terminal, no cell cut to an ellipsis."""
    too_wide = [line for line in output.splitlines() if cell_len(line) > WIDTH]
    assert not too_wide, too_wide[:3]
    assert "…" not in output and "..." not in "".join(
        c for b in blocks_of(output) for row in b.rows for c in row)


def assert_four_digits(cell: str, value) -> None:
    """A printed number parses and equals ``value`` to 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        assert cell == format_value(value)
        return
    if isinstance(value, float) and math.isnan(value):
        assert cell == "nan"
        return
    shown = float(cell)
    if isinstance(value, int):
        assert shown == value
    else:
        assert shown == pytest.approx(value, rel=5e-4, abs=1e-300), (cell, value)
        mantissa = cell.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
        assert len(mantissa) <= 4, cell


def assert_rows_from(block, sources) -> None:
    """Each printed row is a row of one of ``sources`` (Tables), cell by cell."""
    candidates = [t for t in sources if set(block.header) <= set(t.columns)]
    assert candidates, (block.above, block.header)
    for row in block.rows:
        matches = [(t, source) for t in candidates for source in t.rows
                   if all(cell == format_value(source[t.columns.index(col)])
                          for col, cell in zip(block.header, row, strict=True))]
        assert matches, (block.above, block.header, row)
        table, source = matches[0]
        for col, cell in zip(block.header, row, strict=True):
            assert_four_digits(cell, source[table.columns.index(col)])


def report_sources(store, run_id):
    opened = gn.track.open_store(store)
    model = gn.track.load_model("digits-mlp:latest", opened)
    return [*gn.report.tables(run_id, opened).values(), describe(model), summary_table(model)]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["demo", "report"])
def test_demo_and_report_fit_80_columns_and_show_the_stored_numbers(narrow, command):
    output = narrow[command].stdout
    assert_fits(output)
    blocks = blocks_of(output)
    assert len(blocks) >= 10
    sources = report_sources(narrow["store"], narrow["demo_id"])
    for block in blocks:
        assert_rows_from(block, sources)
    # one run: no column repeating its name; the title says which run it is
    assert not any("run" in b.header for b in blocks)
    assert f"Loss per iteration, run demo ({narrow['demo_id']})" in output


def test_a_table_too_wide_is_split_and_the_note_says_where_each_column_went(narrow):
    output = narrow["report"].stdout
    lines = output.splitlines()
    start = lines.index(next(line for line in lines
                             if line.startswith("Weight changes during training")))
    parts = [b for b in blocks_of("\n".join(lines[start:]))][:2]
    assert [set(p.header) for p in parts] == [
        {"epoch", "from_step", "to_step", "layer", "start_mean_abs_W", "end_mean_abs_W"},
        {"epoch", "layer", "norm_delta_W", "relative_delta_W"}]
    note = " ".join(" ".join(lines[start:]).split())  # rich wrapped the note at spaces
    assert ("split in 2 parts (part 1: from_step, to_step, start_mean_abs_W, end_mean_abs_W; "
            "part 2: norm_delta_W, relative_delta_W); epoch, layer repeated in each") in note
    assert parts[0].rows[0][0] == parts[1].rows[0][0]  # the same rows, in the same order


def test_runs_fits_80_columns_and_its_metrics_are_the_stored_ones(narrow):
    output = narrow["runs"].stdout
    assert_fits(output)
    blocks = [b for b in blocks_of(output) if b.header[0] == "id"]
    tagged = {"tags"} if narrow["sweep"] else set()  # a sweep tags its runs sweep:ID
    assert {c for b in blocks for c in b.header} == {
        "id", "project", "name", "status", "created", "config", "final metrics"} | tagged
    store = gn.track.open_store(narrow["store"])
    metrics_block = next(b for b in blocks if "final metrics" in b.header)
    column = metrics_block.header.index("final metrics")
    seen = 0
    for row in metrics_block.rows:
        wanted = final_metrics(store.run(row[0]).summary)
        for token in row[column].split():
            key, _, shown = token.partition("=")
            assert_four_digits(shown, wanted[key])
            seen += 1
    assert seen >= 8


@pytest.mark.skipif(not _have_sklearn(), reason="sweeps need scikit-learn")
def test_sweep_fits_80_columns_and_its_numbers_have_4_digits(narrow):
    result = narrow["sweep"]
    assert result.exit_code == 0, result.stderr
    assert_fits(result.stdout)
    blocks = blocks_of(result.stdout)
    assert blocks and all(b.header[0] == "trial" for b in blocks)
    rates = sorted(float(r[b.header.index("learning_rate")]) for b in blocks
                   if "learning_rate" in b.header for r in b.rows)
    assert rates == [0.01, 0.1]
    for block in blocks:
        for row in block.rows:
            for cell in row:
                for number in NUMBER.finditer(cell):
                    digits = number.group(1).replace(".", "").lstrip("0")
                    assert len(digits) <= 4, cell


def test_train_fits_80_columns(narrow):
    assert_fits(narrow["train"].stdout)
