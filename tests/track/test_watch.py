"""The watch callback on real training, and the vectorised statistics behind it."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense, Input
from glassnet.track import init
from glassnet.track.paramstats import COLUMNS, FlatStats, uniform_edges


def _reference(values, grads, previous):
    row = [values.size, values.mean(), values.std(), values.min(), values.max(),
           np.linalg.norm(values), (values < 0).mean(), grads.mean(), grads.std(), grads.min(),
           grads.max(), np.linalg.norm(grads), (grads < 0).mean(),
           np.linalg.norm(values - previous) / np.linalg.norm(values)]
    return np.array(row)


def test_flat_stats_match_numpy_per_segment():
    rng = np.random.default_rng(1)
    sizes = [12, 3, 40, 1, 7]
    n = sum(sizes)
    values = rng.normal(size=(4, n)).astype(np.float32)
    values[:, 12:15] = 0.25  # a constant segment: np.histogram's [v - 0.5, v + 0.5] rule
    values[:, 55:62] = [-1, 0, 1, 0.5, -0.5, 0.25, 0]  # values on bin edges
    grads = rng.normal(scale=1e-3, size=(4, n)).astype(np.float32)
    previous = values + rng.normal(scale=1e-2, size=(4, n)).astype(np.float32)
    rows = np.concatenate([values, grads], axis=1)
    stats, counts, edges = FlatStats(sizes, max_rows=4).compute(rows, previous)
    assert stats.shape == (4, 5, len(COLUMNS)) and counts.shape == (4, 5, 64) and edges is None
    starts = np.cumsum([0] + sizes[:-1])
    for r in range(4):
        for i, (start, size) in enumerate(zip(starts, sizes, strict=True)):
            seg = slice(start, start + size)
            v, g, p = (a[r, seg].astype(np.float64) for a in (values, grads, previous))
            np.testing.assert_allclose(stats[r, i], _reference(v, g, p), rtol=1e-9, atol=1e-12)
            expected, expected_edges = np.histogram(v, bins=64)
            np.testing.assert_array_equal(counts[r, i], expected)
            np.testing.assert_allclose(uniform_edges(v.min(), v.max()), expected_edges,
                                       rtol=1e-12)


def test_flat_stats_survive_nan_and_inf_weights():
    values = np.array([[1.0, np.nan, 3.0, 0.5, -0.5], [1.0, 2.0, 3.0, 0.5, -0.5]])
    values[0, 4] = np.inf
    flat = FlatStats([3, 2], max_rows=2)
    stats, counts, edges = flat.compute(np.concatenate([values, np.zeros_like(values)], 1), None)
    assert np.isnan(stats[0, 0, 1]) and np.isnan(stats[:, :, 13]).all()
    assert edges is not None and edges.shape == (2, 2, 65)
    assert counts[0, 0].sum() == 2 and counts[0, 1].sum() == 1  # finite values only
    assert counts[1].sum(axis=1).tolist() == [3, 2]  # the healthy row is untouched
    np.testing.assert_array_equal(counts[1, 0], np.histogram([1.0, 2.0, 3.0], bins=64)[0])


@pytest.fixture(scope="module")
def digits():
    x, y = gn.datasets.load_digits()
    x = ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-7)).astype(np.float32)
    return x[:320], y[:320], x[320:400], y[320:400]


def _model(hidden="relu", seed=0):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([Input(shape=(64,)), Dense(25, activation=hidden, name="hidden"),
                           Dense(10, activation="softmax", name="out")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_watch_records_losses_metrics_stats_and_snapshots(store, digits):
    x, y, xv, yv = digits
    run = init("digits", store=store)
    model = _model()
    history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, validation_data=(xv, yv),
                        callbacks=[run.watch(log_freq=4, snapshots=4)])
    run.finish()
    # 320 samples / 32 = 10 steps per epoch, 30 steps in all, counted from 0
    assert set(store.metric_keys(run.id)) == {
        "loss", "accuracy", "epoch", "epoch/loss", "epoch/accuracy", "epoch/val_loss",
        "epoch/val_accuracy"}
    steps, losses = store.metrics(run.id, "loss")
    assert steps.tolist() == list(range(30)) and np.all(np.isfinite(losses))
    assert store.metrics(run.id, "accuracy")[0].tolist() == list(range(0, 30, 4))
    steps, epoch_loss = store.metrics(run.id, "epoch/loss")
    assert steps.tolist() == [9, 19, 29]
    np.testing.assert_allclose(epoch_loss, history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(store.metrics(run.id, "epoch/val_accuracy")[1],
                               history.history["val_accuracy"], rtol=1e-6)
    assert store.run(run.id).summary["epoch/loss"] == pytest.approx(history.history["loss"][-1])
    assert store.param_paths(run.id) == ["hidden/bias", "hidden/kernel", "out/bias", "out/kernel"]
    # statistics agree with the snapshots taken at the same steps (after that step's update)
    assert store.snapshots(run.id) == [-1] + list(range(0, 30, 4)) + [29]
    assert store.snapshot_info(run.id)[0]["label"] == "init"
    assert store.snapshot_info(run.id)[-1]["label"] == "end"
    for record in store.param_stats(run.id, "hidden/kernel"):
        w = store.snapshot(run.id, record["step"])["hidden/kernel"].astype(np.float64)
        assert record["count"] == 64 * 25
        assert record["mean"] == pytest.approx(w.mean(), rel=1e-6)
        assert record["l2"] == pytest.approx(np.linalg.norm(w), rel=1e-6)
        assert record["histogram"][0].tolist() == np.histogram(w, bins=64)[0].tolist()
        assert 0 < record["update_ratio"] < 0.1 and record["grad_l2"] > 0
    np.testing.assert_array_equal(store.snapshot(run.id, "end")["out/bias"],
                                  model.get_layer("out").bias.numpy())
    layers = store.layer_stats(run.id, "hidden")
    assert [r["step"] for r in layers] == list(range(0, 30, 4))
    assert all(r["backward_time"] > 0 and r["update_time"] > 0 for r in layers)
    assert all(0 <= r["dead_share"] <= 1 and np.isnan(r["saturated_share"]) for r in layers)


def test_update_ratio_is_the_change_of_that_step(store, digits):
    x, y, _, _ = digits
    run = init("digits", store=store)
    model = _model()
    model.fit(x[:96], y[:96], epochs=1, batch_size=32, verbose=0, shuffle=False,
              callbacks=[run.watch(log_freq=1, snapshots=1)])
    run.finish()
    before = store.snapshot(run.id, -1)
    for step in (0, 1, 2):
        after = store.snapshot(run.id, step)
        (record,) = [r for r in store.param_stats(run.id, "out/kernel") if r["step"] == step]
        w1, w0 = after["out/kernel"].astype(np.float64), before["out/kernel"]
        expected = np.linalg.norm(w1 - w0) / np.linalg.norm(w1)
        assert record["update_ratio"] == pytest.approx(expected, rel=1e-5)
        before = after


@pytest.mark.slow
def test_dead_relu_and_saturated_sigmoid_units_are_counted(store, digits):
    x, y, _, _ = digits
    run = init("units", store=store)
    dead = _model("relu")
    kernel, bias = dead.get_layer("hidden").get_weights()
    bias[:5] = -1e4  # five units that never fire
    dead.get_layer("hidden").set_weights([kernel, bias])
    dead.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[run.watch(log_freq=1)])
    shares = [r["dead_share"] for r in store.layer_stats(run.id, "hidden")]
    assert len(shares) == 10 and min(shares) >= 5 / 25
    saturated = _model("sigmoid")
    kernel, bias = saturated.get_layer("hidden").get_weights()
    saturated.get_layer("hidden").set_weights([kernel, bias + 50.0])  # always ~1
    run2 = init("units", store=store)
    saturated.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[run2.watch(log_freq=5)])
    rows = store.layer_stats(run2.id, "hidden")
    assert [r["saturated_share"] for r in rows] == [1.0, 1.0]
    assert all(np.isnan(r["dead_share"]) for r in rows)
    run.finish()
    run2.finish()


def test_watch_steps_continue_across_fits_and_bad_settings_raise(store, digits):
    x, y, _, _ = digits
    run = init("p", store=store)
    watch = run.watch(log_freq=3, snapshots="epoch")
    model = _model()
    model.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0, callbacks=[watch])
    model.fit(x[:64], y[:64], epochs=2, batch_size=32, verbose=0, callbacks=[watch])
    run.log({"custom": 1.0})
    run.finish()
    assert store.metrics(run.id, "loss")[0].tolist() == list(range(6))
    assert store.metrics(run.id, "custom")[0].tolist() == [6]
    assert store.snapshots(run.id) == [-1, 1, 3, 5]
    assert [r["step"] for r in store.param_stats(run.id, "out/bias")] == [0, 3]
    with pytest.raises(ValueError, match="log_freq must be a positive int"):
        run.watch(log_freq=0)
    with pytest.raises(ValueError, match="snapshots must be"):
        run.watch(snapshots="often")


def test_registry_model_round_trip_predicts_identically(store, digits):
    x, y, xv, _ = digits
    run = init("reg", store=store)
    model = _model()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert run.log_model(model, "digits-mlp") == 1
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert run.log_model(model, "digits-mlp", aliases=["latest", "best"]) == 2
    run.finish()
    entries = store.models("digits-mlp")
    assert [(m["version"], m["aliases"]) for m in entries] == [(1, []), (2, ["best", "latest"])]
    assert entries[1]["run_id"] == run.id and entries[1]["meta"]["params"] == 64 * 25 + 25 + 260
    loaded = gn.track.load_model("digits-mlp:latest", store=store)
    np.testing.assert_array_equal(loaded.predict(xv), model.predict(xv))
    assert gn.track.load_model("digits-mlp", store=store).count_params() == model.count_params()
    first = gn.track.load_model("digits-mlp:v1", store=store)
    assert not np.array_equal(first.predict(xv), model.predict(xv))
    kinds = [(a["kind"], a["name"], a["version"]) for a in store.artifacts(run.id)]
    assert kinds == [("model", "digits-mlp", 1), ("model", "digits-mlp", 2)]
    with pytest.raises(LookupError, match="no alias 'prod'"):
        gn.track.load_model("digits-mlp:prod", store=store)
    with pytest.raises(LookupError, match="no version v7"):
        gn.track.load_model("digits-mlp:v7", store=store)
    with pytest.raises(LookupError, match="no model named 'other'"):
        gn.track.load_model("other", store=store)


def test_watch_gathers_variables_when_the_model_has_no_flat_buffers(store, digits, monkeypatch):
    from glassnet._engine.observing import TrainerView

    x, y, _, _ = digits
    runs = []
    for flat in (True, False):
        if not flat:  # a loop that offers its arrays by path only: the watch gathers them
            monkeypatch.setattr(TrainerView, "flat", lambda self, kind: None)
        run = init("gather", store=store)
        _model(seed=3).fit(x[:96], y[:96], epochs=1, batch_size=32, verbose=0, shuffle=False,
                           callbacks=[run.watch(log_freq=1)])
        run.finish()
        runs.append(store.param_stats(run.id))
    for a, b in zip(*runs, strict=True):
        assert a["step"] == b["step"] and a["path"] == b["path"]
        for key in ("mean", "std", "l2", "grad_l2", "update_ratio"):
            assert a[key] == pytest.approx(b[key], rel=1e-6)
        np.testing.assert_array_equal(a["histogram"][0], b["histogram"][0])


@pytest.mark.parametrize("hidden, column", [("relu", "dead_share"),
                                            ("tanh", "saturated_share")])
def test_unit_shares_equal_the_forward_pass_of_each_step_also_on_short_batches(
        store, digits, hidden, column):
    """Each logged step's dead (or saturated) share, against the forward pass of that
    step's batch on the weights before its update (the previous step's snapshot);
    70 rows give batches of 32, 32 and 6, and a second fit batches of 48 and 22."""
    x, y, _, _ = digits
    x, y = x[:70], y[:70]
    model = _model(hidden)
    kernel, bias = model.get_layer("hidden").get_weights()
    bias[:6] = -3.0 if hidden == "relu" else 20.0  # units off, or in tanh's flat region
    model.get_layer("hidden").set_weights([kernel, bias])
    run = init("units", store=store)
    watch = run.watch(log_freq=1, snapshots=1)
    batches = []
    for batch_size in (32, 48):
        model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=False,
                  callbacks=[watch])
        batches += [x[start:start + batch_size] for start in range(0, 70, batch_size)]
    run.finish()
    rows = store.layer_stats(run.id, "hidden")
    assert [r["step"] for r in rows] == list(range(len(batches)))
    for step, (row, batch) in enumerate(zip(rows, batches, strict=True)):
        before = store.snapshot(run.id, step - 1)  # -1: "init"
        z = batch @ before["hidden/kernel"] + before["hidden/bias"]
        if hidden == "relu":
            expected = np.mean(np.maximum(z, 0).max(axis=0) <= 0)
        else:
            a = np.tanh(z)
            expected = np.mean((a.min(axis=0) > 0.99) | (a.max(axis=0) < -0.99))
        assert row[column] == pytest.approx(expected, abs=1e-12), step
    assert 0 < np.mean([r[column] for r in rows]) < 1  # the test sees both kinds of unit
