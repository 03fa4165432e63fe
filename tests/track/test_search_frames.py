"""store.metrics_frame and store.param_stats_frame: long form, values as logged."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.track.paramstats import COLUMNS


@pytest.fixture
def two_runs(store):
    a = gn.track.init("p", name="a", store=store)
    for step, (loss, acc) in enumerate([(1.0, 0.5), (0.5, 0.75), (0.25, 0.875)]):
        a.log({"loss": loss, "acc": acc}, step=step * 10)
    a.finish()
    b = gn.track.init("p", name="b", store=store)
    b.log({"loss": 2.0}, step=3)
    b.finish()
    return a.id, b.id


def test_metrics_frame_long_form(store, two_runs):
    pytest.importorskip("pandas")
    a, b = two_runs
    frame = store.metrics_frame([a, b[:6]], ["loss", "acc"])
    assert list(frame.columns) == ["run_id", "key", "step", "value"]
    assert frame.values.tolist() == [
        [a, "loss", 0, 1.0], [a, "loss", 10, 0.5], [a, "loss", 20, 0.25],
        [a, "acc", 0, 0.5], [a, "acc", 10, 0.75], [a, "acc", 20, 0.875],
        [b, "loss", 3, 2.0]]  # b logged no acc: no rows for it


def test_metrics_frame_every_key_and_records(store, two_runs):
    a, b = two_runs
    rows = store.metrics_frame(a, as_records=True)
    assert [(r["key"], r["step"], r["value"]) for r in rows] == [
        ("acc", 0, 0.5), ("acc", 10, 0.75), ("acc", 20, 0.875),
        ("loss", 0, 1.0), ("loss", 10, 0.5), ("loss", 20, 0.25)]
    assert store.metrics_frame(b, "acc", as_records=True) == []


def test_metrics_frame_unknown_run(store, two_runs):
    with pytest.raises(gn.errors.NotFoundError, match="no run with id 'zzz'"):
        store.metrics_frame(["zzz"])


def test_param_stats_frame_long_form(store):
    pytest.importorskip("pandas")
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(20, 1)).astype(np.float32)
    model = gn.Sequential([gn.layers.Input(shape=(3,)), gn.layers.Dense(2, name="d"),
                           gn.layers.Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    run = gn.track.init("p", store=store)
    model.fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[run.watch(log_freq=1)])
    run.finish()
    frame = store.param_stats_frame(run.id)
    assert list(frame.columns) == ["run_id", "path", "step", "stat", "value"]
    records = store.param_stats(run.id)
    assert len(frame) == len(records) * len(COLUMNS)
    wide = frame.pivot_table(index=["path", "step"], columns="stat", values="value",
                             dropna=False)
    for r in records:
        for stat in COLUMNS:
            np.testing.assert_equal(wide.loc[(r["path"], r["step"]), stat], r[stat])
    counts = frame[frame.stat == "count"].groupby("path")["value"].first().to_dict()
    assert counts == {"d/bias": 2.0, "d/kernel": 6.0, "out/bias": 1.0, "out/kernel": 2.0}
    only = store.param_stats_frame(run.id, "d/kernel", as_records=True)
    assert {r["path"] for r in only} == {"d/kernel"} and {r["run_id"] for r in only} == {run.id}
