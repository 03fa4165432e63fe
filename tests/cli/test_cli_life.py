"""`glassnet tag | note | archive | unarchive | rm | gc | model alias`, and what `runs`,
`show` and `models` then print. Every output is checked at 80 columns."""

from __future__ import annotations

import os
import sqlite3
import time

import numpy as np
import pytest
from cli_helpers import rows_of, run_cli
from click.testing import CliRunner
from rich.cells import cell_len

import glassnet as gn
from glassnet.cli import cli

WIDTH = 80


def fits(result) -> str:
    assert result.exit_code == 0, result.stderr or result.exception
    wide = [line for line in result.stdout.splitlines() if cell_len(line) > WIDTH]
    assert not wide, wide[:3]
    return result.stdout


def cli80(*args):
    return run_cli(*args, columns=WIDTH)


def _model(bias: float):
    model = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(1)])
    model.layers[0].set_weights([np.ones((2, 1), np.float32), np.full((1,), bias, np.float32)])
    return model


@pytest.fixture
def recorded(tmp_path):
    """Runs a and b (b logs three versions of model mlp and a snapshot), c with tags."""
    folder = tmp_path / "store"
    store = gn.track.open_store(folder)
    ids = {}
    for name, tags in (("a", []), ("b", []), ("c", ["old", "baseline"])):
        run = gn.track.init("digits", name=name, store=store, tags=tags,
                            config={"learning_rate": 0.01})
        run.log({"accuracy": 0.9}, step=0)
        if name == "b":
            store.log_snapshot(run.id, 0, "end", {"dense/kernel": np.arange(6.0)})
            for bias in (1.0, 2.0, 3.0):
                run.log_model(_model(bias), "mlp")
        run.finish()
        ids[name] = run.id
    store.close()
    return folder, ids


def test_tag_adds_and_removes_and_runs_and_show_print_the_tags(recorded):
    folder, ids = recorded
    out = fits(cli80("tag", ids["a"], "+baseline", "-nothing", "fast", "--store", folder))
    assert out == f"Run {ids['a']} tags: baseline, fast\n"
    out = fits(cli80("tag", ids["c"][:6], "-old", "--store", folder))
    assert out == f"Run {ids['c']} tags: baseline\n"
    assert fits(cli80("tag", ids["b"], "--store", folder)) == f"Run {ids['b']} tags: (none)\n"
    listed = fits(cli80("runs", "--store", folder))
    tagged = {}
    for row in rows_of(listed):  # the tags column may sit in the second part of the table
        if row[0] in ids.values():
            tagged.setdefault(row[0], []).append(row)
    header = [r for r in rows_of(listed) if r[0] == "id" and "tags" in r][0]
    column = header.index("tags")
    assert tagged[ids["a"]][-1][column] == "baseline, fast"
    assert tagged[ids["b"]][-1][column] == ""
    assert "Tags: baseline, fast" in fits(cli80("show", ids["a"], "--store", folder))
    found = fits(cli80("runs", "--filter", "tags contains 'fast'", "--store", folder))
    assert [r[0] for r in rows_of(found) if r[0] in ids.values()][:1] == [ids["a"]]


def test_a_lone_sign_or_a_bad_tag_is_an_error(recorded):
    folder, ids = recorded
    result = cli80("tag", ids["a"], "+", "--store", folder)
    assert result.exit_code == 2 and "a lone '+' or '-'" in result.stderr
    result = cli80("tag", ids["a"], "+a\tb", "--store", folder)
    assert result.exit_code == 1
    assert "ConfigError: a tag may not hold control characters" in result.stderr


def test_note_writes_from_text_or_a_file_and_show_prints_it_wrapped(recorded, tmp_path):
    folder, ids = recorded
    text = ("Baseline for the **new** optimizer: " + "a long sentence that goes on " * 6
            + "\n\n- [ ] rerun with 3 seeds")
    assert fits(cli80("note", ids["a"], text, "--store", folder)) == (
        f"Run {ids['a']}: note written ({len(text)} characters)\n")
    assert gn.track.open_store(folder).run(ids["a"]).note == text
    shown = fits(cli80("show", ids["a"], "--store", folder))
    lines = shown.splitlines()
    start = lines.index("Note:")
    assert lines[start + 1].startswith("  Baseline for the **new** optimizer:")
    assert "  - [ ] rerun with 3 seeds" in lines
    printed = cli80("note", ids["a"], "--store", folder)  # piped: the text as written
    assert printed.exit_code == 0 and printed.stdout == text + "\n"
    path = tmp_path / "note.md"
    path.write_text("# From a file\nüñí\n", encoding="utf-8")
    fits(cli80("note", ids["b"], "--file", path, "--store", folder))
    assert gn.track.open_store(folder).run(ids["b"]).note == "# From a file\nüñí\n"
    assert fits(cli80("note", ids["b"], "--clear", "--store", folder)).endswith("note cleared\n")
    assert fits(cli80("note", ids["b"], "--store", folder)) == f"(run {ids['b']} has no note)\n"
    both = cli80("note", ids["b"], "text", "--clear", "--store", folder)
    assert both.exit_code == 2 and "one of them" in both.stderr


def test_archive_hides_runs_until_unarchived(recorded):
    folder, ids = recorded
    out = fits(cli80("archive", ids["a"], "--filter", "tags contains 'old'", "--store", folder))
    assert out == "Archived 2 runs\n"
    assert fits(cli80("archive", ids["a"], "--store", folder)) == (
        "Archived 0 runs (1 already were)\n")
    listed = fits(cli80("runs", "--store", folder))
    assert listed.splitlines()[0].startswith("1 run")
    every = fits(cli80("runs", "--archived", "--store", folder))
    assert every.splitlines()[0].startswith("3 runs")
    assert "(archived)" in every
    shown = fits(cli80("show", ids["a"], "--store", folder))  # by id it is still there
    assert f"`glassnet unarchive {ids['a']}`" in shown.replace("\n", " ")
    assert fits(cli80("unarchive", ids["a"], ids["c"], "--store", folder)) == (
        "Unarchived 2 runs\n")
    assert fits(cli80("runs", "--store", folder)).splitlines()[0].startswith("3 runs")


def test_rm_dry_run_says_what_goes_and_rm_yes_does_exactly_that(recorded):
    folder, ids = recorded
    store = gn.track.open_store(folder)
    snapshot = store.snapshot_info(ids["b"])[0]["sha"]
    store.close()
    dry = fits(cli80("rm", ids["b"], ids["c"], "--dry-run", "--store", folder))
    lines = dry.splitlines()
    assert lines[0] == "2 runs to delete"
    rows = lines[lines.index(next(line for line in lines if line.startswith("Rows:"))):]
    assert rows[0] == "Rows: 8 (metrics 2, snapshots 1, artifacts 3, runs 2)"
    with sqlite3.connect(folder / "glassnet.db") as db:  # a small snapshot: in the database
        (data,) = db.execute("SELECT data FROM inline_blobs WHERE sha = ?",
                             (snapshot,)).fetchone()
    size = len(data)
    assert f"Blobs freed: 1 ({size} B); 3 kept (other runs or the registry name them)" in dry
    assert "Registry versions kept (their run link cleared): 3" in dry
    assert dry.endswith("Dry run: nothing was deleted.\n")
    assert len(gn.track.open_store(folder).runs()) == 3
    time.sleep(2.1)  # past the write slack: the snapshot blob goes at once
    done = fits(cli80("rm", ids["b"], ids["c"], "--yes", "--store", folder))
    assert done.splitlines()[-1] == f"Deleted 2 runs, 8 rows, 1 blobs ({size} B)"
    assert [r.id for r in gn.track.open_store(folder).runs(archived=True)] == [ids["a"]]
    with sqlite3.connect(folder / "glassnet.db") as db:
        assert db.execute("SELECT COUNT(*) FROM inline_blobs WHERE sha = ?",
                          (snapshot,)).fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM metrics").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM models WHERE run_id IS NULL").fetchone() == (3,)
    models = fits(cli80("models", "--store", folder))
    assert [r[:3] for r in rows_of(models)[1:]] == [["mlp", "v1", ""], ["mlp", "v2", ""],
                                                    ["mlp", "v3", "latest"]]


def test_rm_asks_first_and_no_keeps_everything(recorded):
    folder, ids = recorded
    runner = CliRunner(env={"GLASSNET_STORE": None, "COLUMNS": str(WIDTH)})
    result = runner.invoke(cli, ["rm", ids["a"], "--store", str(folder)], input="n\n")
    assert result.exit_code == 0, result.output
    assert "Delete 1 run for good? [y/N]: n" in result.output
    assert result.output.endswith("Nothing was deleted.\n")
    assert len(gn.track.open_store(folder).runs()) == 3
    result = runner.invoke(cli, ["rm", ids["a"], "--store", str(folder)], input="y\n")
    assert result.exit_code == 0 and "Deleted 1 run, 2 rows" in result.output
    assert len(gn.track.open_store(folder).runs()) == 2


def test_rm_of_a_running_run_or_an_unknown_one_is_refused(recorded):
    folder, ids = recorded
    store = gn.track.open_store(folder)
    run = gn.track.init("digits", store=store)
    result = cli80("rm", run.id, "--yes", "--store", folder)
    assert result.exit_code == 1
    assert f"ConfigError: cannot delete running runs: {run.id}" in result.stderr
    run.finish()
    result = cli80("rm", "feedbeef", "--yes", "--store", folder)
    assert result.exit_code == 1
    assert "NotFoundError: no run with id 'feedbeef'" in result.stderr
    result = cli80("rm", "--filter", "name = 'nobody'", "--yes", "--store", folder)
    assert result.exit_code == 1 and "no run matches the filter" in result.stderr
    assert cli80("rm", "--store", folder).exit_code == 2
    assert len(store.runs()) == 4


def test_an_ambiguous_prefix_lists_the_runs_it_matches(tmp_path):
    store = gn.track.open_store(tmp_path / "s")
    ids = []
    for _ in range(40):
        run = gn.track.init("p", store=store)
        run.finish()
        ids.append(run.id)
    first = max("0123456789abcdef", key=lambda d: sum(i.startswith(d) for i in ids))
    result = cli80("tag", first, "+x", "--store", tmp_path / "s")
    assert result.exit_code == 1
    assert f"NotFoundError: run id prefix '{first}' matches" in result.stderr
    assert "give more characters" in result.stderr


def test_gc_reports_what_it_frees(recorded):
    folder, _ = recorded
    store = gn.track.open_store(folder)
    sha = store.blobs.put_bytes(b"x" * 2048)
    store.close()
    out = fits(cli80("gc", "--store", folder))
    assert out == ("Removed 0 orphan blobs and 0 temporary files: 0 B; 1 younger than "
                   "3600 s kept\n")
    then = time.time() - 7200
    os.utime(folder / "blobs" / sha[:2] / sha, (then, then))
    assert fits(cli80("gc", "--dry-run", "--store", folder)) == (
        "Would remove 1 orphan blobs and 0 temporary files: 2.0 KiB\n")
    assert (folder / "blobs" / sha[:2] / sha).exists()
    assert fits(cli80("gc", "--store", folder)) == (
        "Removed 1 orphan blobs and 0 temporary files: 2.0 KiB\n")
    assert not (folder / "blobs" / sha[:2] / sha).exists()


def test_model_alias_moves_an_alias_and_models_shows_it(recorded):
    folder, _ = recorded
    assert fits(cli80("model", "alias", "mlp:v2", "production", "--store", folder)) == (
        "mlp:production -> v2\n")
    assert fits(cli80("model", "alias", "mlp", "v1", "production", "--store", folder)) == (
        "mlp:production -> v1 (was v2)\n")
    fits(cli80("model", "alias", "mlp:production", "best", "--store", folder))
    models = fits(cli80("models", "--store", folder))
    assert [r[:3] for r in rows_of(models)[1:]] == [["mlp", "v1", "best, production"],
                                                    ["mlp", "v2", ""],
                                                    ["mlp", "v3", "latest"]]
    assert fits(cli80("model", "alias", "--remove", "mlp", "best", "--store", folder)) == (
        "Removed alias 'best' from mlp:v1\n")


@pytest.mark.parametrize(("args", "message"), [
    (["mlp:v9", "prod"], "NotFoundError: model 'mlp' has no version v9; versions: "
                         "['v1', 'v2', 'v3']"),
    (["nope:v1", "prod"], "NotFoundError: no model named 'nope' in the registry"),
    (["mlp:v1", "v2"], "ConfigError: alias 'v2' would read as a version number"),
    (["mlp:v1", "--remove", "gone"], "NotFoundError: model 'mlp' has no alias 'gone'"),
])
def test_bad_alias_moves_are_clear_errors(recorded, args, message):
    folder, _ = recorded
    result = cli80("model", "alias", *args, "--store", folder)
    assert result.exit_code == 1, result.stdout
    assert message in result.stderr
