"""`glassnet runs --filter/--sort/--limit/--format` and `glassnet export-runs`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys

import pytest
from cli_helpers import rows_of, run_cli

import glassnet as gn

CREATED = [1_780_000_000.0, 1_780_086_400.0, 1_780_172_800.0]  # 2026-05-28/29/30 20:26:40


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """Runs a (lr 0.001, acc 0.95, baseline), b (lr 0.01, acc 0.85), c (coffee, lr "auto")."""
    folder = tmp_path_factory.mktemp("search-cli") / "store"
    store = gn.track.open_store(folder)
    specs = [("digits", "a", {"learning_rate": 0.001, "hidden": [4]}, ["baseline"],
              {"accuracy": 0.95}),
             ("digits", "b", {"learning_rate": 0.01}, [], {"accuracy": 0.85}),
             ("coffee", "c", {"learning_rate": "auto"}, ["it's"], {"accuracy": float("nan")})]
    ids = []
    for project, name, config, tags, summary in specs:
        run = gn.track.init(project, name=name, config=config, store=store, tags=tags)
        run.log(summary, step=0)
        run.finish()
        ids.append(run.id)
    with sqlite3.connect(store.db_path) as db:
        db.executemany("UPDATE runs SET created_at = ? WHERE id = ?", list(zip(CREATED, ids)))
    store.close()
    return folder, ids


def listed(result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [r[2] for r in rows_of(result.stdout)[1:]]


def test_runs_filter_keeps_the_table(three):
    folder, ids = three
    result = run_cli("runs", "--filter", "config.learning_rate < 0.1 and summary.accuracy > 0.9",
                     "--store", folder)
    assert result.stdout.splitlines()[0] == "1 run"
    assert rows_of(result.stdout)[0] == ["id", "project", "name", "status", "created", "config",
                                         "final metrics", "tags"]
    assert rows_of(result.stdout)[1][:4] == [ids[0], "digits", "a", "finished"]
    assert rows_of(result.stdout)[1][-1] == "baseline"


def test_runs_sort_limit_and_project(three):
    folder, _ = three
    assert listed(run_cli("runs", "--store", folder)) == ["c", "b", "a"]
    assert listed(run_cli("runs", "--sort", "summary.accuracy desc", "--store", folder)) == [
        "a", "b", "c"]
    assert listed(run_cli("runs", "--sort", "name", "--limit", "2", "--store", folder)) == [
        "a", "b"]
    assert listed(run_cli("runs", "--project", "digits", "--filter",
                          "config.learning_rate >= 0.01 or tags contains 'baseline'",
                          "--store", folder)) == ["b", "a"]
    assert listed(run_cli("runs", "--project", "coffee", "--filter", "tags contains \"it's\"",
                          "--store", folder)) == ["c"]


def test_runs_csv(three):
    folder, ids = three
    result = run_cli("runs", "--format", "csv", "--sort", "name", "--store", folder)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "name", "project", "status", "created_at", "finished_at", "group",
                       "tags", "note", "config.hidden", "config.learning_rate",
                       "summary.accuracy"]
    assert rows[1][:5] == [ids[0], "a", "digits", "finished", "2026-05-28T20:26:40Z"]
    assert rows[1][7:] == ['["baseline"]', "", "[4]", "0.001", "0.95"]
    assert rows[3][7:] == ['["it\'s"]', "", "", "auto", "nan"]


def test_runs_json(three):
    folder, ids = three
    result = run_cli("runs", "--format", "json", "--filter", "project = 'coffee'",
                     "--store", folder)
    assert result.exit_code == 0, result.stderr
    (run,) = json.loads(result.stdout)
    assert run["id"] == ids[2] and run["tags"] == ["it's"]
    assert run["config"] == {"learning_rate": "auto"}
    assert run["summary"] == {"accuracy": None}  # NaN: JSON has no word for it
    assert run["created_at"] == "2026-05-30T20:26:40Z"


@pytest.mark.parametrize(("args", "message"), [
    (["--filter", "config.learning_rate <"],
     "FilterError: at column 23: expected a value (a number, a quoted string, true or false) "
     "after '<', got end of filter"),
    (["--filter", "name = 'x'; DROP TABLE runs"], "FilterError: at column 11: unexpected "
                                                  "character ';'"),
    (["--sort", "tags"], "FilterError: at column 1: runs cannot be sorted by tags"),
])
def test_runs_bad_filter_says_where(three, args, message):
    folder, _ = three
    result = run_cli("runs", *args, "--project", "digits", "--store", folder)
    assert result.exit_code == 1
    assert result.stderr.strip() == message
    assert listed(run_cli("runs", "--store", folder)) == ["c", "b", "a"]  # nothing dropped


def test_export_runs_csv(three, tmp_path):
    folder, ids = three
    out = tmp_path / "runs.csv"
    result = run_cli("export-runs", "-o", out, "--filter", "project = 'digits'",
                     "--store", folder)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"Wrote 2 runs to {out} (csv)"
    rows = list(csv.DictReader(out.open()))
    assert [(r["id"], r["config.learning_rate"]) for r in rows] == [(ids[1], "0.01"),
                                                                    (ids[0], "0.001")]
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]  # no temporary file left


def test_export_runs_parquet(three, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    folder, ids = three
    out = tmp_path / "runs.parquet"
    result = run_cli("export-runs", "-o", out, "--sort", "name", "--store", folder)
    assert result.exit_code == 0, result.stderr
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == ids
    assert table.column("tags").to_pylist() == [["baseline"], [], ["it's"]]
    assert str(table.schema.field("summary.accuracy").type) == "double"
    assert table.column("summary.accuracy").to_pylist() == [0.95, 0.85, None]
    # numbers and a string in one config key: JSON text, so no value is lost
    assert table.column("config.learning_rate").to_pylist() == ["0.001", "0.01", '"auto"']
    assert table.column("config.hidden").to_pylist() == ["[4]", None, None]


def test_export_runs_parquet_without_pyarrow_names_the_extra(three, tmp_path, monkeypatch):
    folder, _ = three
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    out = tmp_path / "runs.parquet"
    result = run_cli("export-runs", "--format", "parquet", "-o", out, "--store", folder)
    assert result.exit_code == 1
    assert result.stderr.strip() == ("MissingDependencyError: pyarrow is needed for this and "
                                     "is not installed: pip install 'glassnet[parquet]'")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_export_runs_needs_an_output(three):
    folder, _ = three
    result = run_cli("export-runs", "--store", folder)
    assert result.exit_code == 2 and "Missing option '-o' / '--output'" in result.stderr
