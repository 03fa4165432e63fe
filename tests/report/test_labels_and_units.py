"""Each figure says what it is: final metrics by what they measured, times in their unit."""

from __future__ import annotations

import pytest

import glassnet as gn
from glassnet.report.metric_labels import metric_label, summary_labels


def test_metric_labels_tell_the_last_batch_from_the_epoch_mean():
    summary = {"loss": 0.01037, "epoch/loss": 0.01742, "accuracy": 0.99, "epoch/accuracy": 0.99,
               "epoch/val_loss": 0.1, "test/loss": 0.13, "custom": 1.0, "epoch": 29.0}
    assert summary_labels(summary) == {
        "loss": "training, last batch only",
        "epoch/loss": "training, mean over the last epoch's batches",
        "accuracy": "training, running value at the last epoch's end",
        "epoch/accuracy": "training, mean over the last epoch's batches",
        "epoch/val_loss": "validation split, last epoch",
        "test/loss": "test set"}
    assert metric_label("custom", summary) == ""  # a user's own key: nothing is claimed


def test_the_dashboard_and_html_report_get_the_labels(recorded):
    from glassnet.ui import queries

    store = gn.track.open_store(recorded["store"])
    run_id = recorded["runs"]["relu"][0]
    detail = queries.run_detail(store, run_id)
    summary = store.run(run_id).summary
    assert summary["loss"] != summary["epoch/loss"]  # the pair a newcomer misread
    assert detail["summary_labels"]["loss"] == "training, last batch only"
    assert detail["summary_labels"]["epoch/loss"] == \
        "training, mean over the last epoch's batches"
    assert detail["summary_labels"]["epoch/val_accuracy"] == "validation split, last epoch"


def test_the_page_shows_each_label_beside_its_key():
    from importlib.resources import files

    script = (files("glassnet.ui") / "static" / "pages.js").read_text(encoding="utf-8")
    assert "labels = detail.summary_labels || {}" in script
    assert "labels[k] ? `${k} (${labels[k]})` : k" in script


def test_update_time_caption_is_in_the_columns_unit(recorded):
    table = gn.report.tables(recorded["runs"]["relu"][0], recorded["store"])["update_time"]
    assert [c for c in table.columns if c.endswith("_ms")] == ["backward_ms", "update_ms",
                                                                "total_ms"]
    (note,) = table.notes
    assert "mean milliseconds per step" in note and "seconds per step" not in note.replace(
        "milliseconds", "")


@pytest.mark.parametrize("kind, symbol", [("bias_changes", "b")])
def test_relative_change_from_zero_is_said_in_the_note(recorded, kind, symbol):
    table = gn.report.tables(recorded["runs"]["relu"][0], recorded["store"])[kind]
    assert '"from 0" when it started at 0' in table.notes[0]
    first = [r for r in table.to_records() if r["epoch"] == 0]
    assert {r[f"relative_delta_{symbol}"] for r in first} == {"from 0"}
    later = [r for r in table.to_records() if r["epoch"] == 1]
    assert all(isinstance(r[f"relative_delta_{symbol}"], float) for r in later)
