"""Bringing a run back: the model from its recorded architecture (or, for runs recorded
without one, its config) + snapshot, and its data."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run_cli

import glassnet as gn
from glassnet.apps.recorded import data_for_run, model_for_run
from glassnet.apps.train_job import build_model, compile_for_task
from glassnet.errors import NotFoundError


def test_a_run_without_a_logged_model_is_rebuilt_from_config_and_snapshot(tmp_path,
                                                                          monkeypatch):
    x, y = gn.datasets.load_coffee()
    y = y.astype(np.float32)
    gn.utils.clear_session()
    model = compile_for_task(build_model(2, (3,), "tanh", "binary", 1, x_train=x),
                             "binary", "adam", 0.01)
    store = gn.track.open_store(tmp_path / "s")
    config = {"hidden": [3], "activation": "tanh", "task": "binary", "n_features": 2,
              "n_outputs": 1, "standardize": True, "optimizer": "adam", "learning_rate": 0.01}
    with gn.track.init(project="p", config=config, store=store) as run:
        run.log_dataset("coffee", X=x, y=y)
        model.fit(x, y, epochs=2, verbose=0, callbacks=[run.watch(snapshots="end")])
    record = store.run(run.id)
    # as for a run recorded before the watch kept the model's architecture
    monkeypatch.setattr(store, "model_config", lambda run_id: None)
    rebuilt = model_for_run(store, record)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    data_x, data_y, spec = data_for_run(store, record)
    assert spec == "coffee:v1"
    np.testing.assert_array_equal(data_x, x)
    np.testing.assert_array_equal(data_y, y)


def test_a_run_with_nothing_to_rebuild_from_says_what_is_missing(tmp_path):
    store = gn.track.open_store(tmp_path / "s")
    with gn.track.init(project="p", config={"hidden": [3]}, store=store) as run:
        run.log({"loss": 1.0})
    record = store.run(run.id)
    with pytest.raises(NotFoundError, match="config lacks activation, task, n_features"):
        model_for_run(store, record)
    with pytest.raises(NotFoundError, match=r"logged no data set with arrays X and y \(logged: "
                                            r"none\)"):
        data_for_run(store, record)


def _coffee_and_adapted_normalization():
    x, y = gn.datasets.load_coffee()
    norm = gn.layers.Normalization(name="scale")
    norm.adapt(x)
    return x, y.astype(np.float32), norm


@pytest.mark.slow
def test_the_recorded_architecture_rebuilds_a_model_whose_names_and_config_say_nothing(tmp_path):
    """No logged model, no train config: the watch's model config and the snapshot suffice."""
    x, y, norm = _coffee_and_adapted_normalization()
    model = gn.Sequential([gn.layers.Input(shape=(2,)), norm,
                           gn.layers.Dense(3, activation="tanh", name="zeta"),
                           gn.layers.Dense(1, activation="sigmoid", name="alpha")])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    store = gn.track.open_store(tmp_path / "s")
    with gn.track.init(project="p", config={"note": "hand-built"}, store=store) as run:
        run.log_dataset("coffee", X=x, y=y)
        model.fit(x, y, epochs=2, verbose=0, callbacks=[run.watch(snapshots="end")])
    rebuilt = model_for_run(store, store.run(run.id))
    assert [layer.name for layer in rebuilt.layers] == ["scale", "zeta", "alpha"]
    assert [layer.activation_name for layer in rebuilt.layers[1:]] == ["tanh", "sigmoid"]
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    # compiled as recorded: the same loss on the same data
    assert rebuilt.evaluate(x, y, verbose=0)[0] == pytest.approx(
        model.evaluate(x, y, verbose=0)[0], rel=1e-6)
    assert type(rebuilt.optimizer).__name__ == "SGD"
    assert rebuilt.optimizer.learning_rate == pytest.approx(0.1)
    result = run_cli("diagnose", run.id, "--store", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    assert f"Diagnosing run {run.id}" in result.stdout and "coffee:v1" in result.stdout


def test_snapshots_keep_scalars_and_older_ones_with_shape_1_still_load(tmp_path):
    x, y, norm = _coffee_and_adapted_normalization()
    model = gn.Sequential([gn.layers.Input(shape=(2,)), norm,
                           gn.layers.Dense(1, activation="sigmoid", name="out")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    store = gn.track.open_store(tmp_path / "s")
    with gn.track.init(project="p", store=store) as run:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[run.watch(snapshots="end")])
    assert store.snapshot(run.id)["scale/count"].shape == ()
    rebuilt = model_for_run(store, store.run(run.id))
    assert float(rebuilt.layers[0].count.numpy()) == len(x)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    # a snapshot as glassnet wrote them before 0-d arrays were kept: count of shape (1,)
    old = {v.path: v.numpy().reshape(-1) if v.shape == () else v.numpy() for v in model.weights}
    store.log_snapshot(run.id, 10**6, "end", old)
    store.flush()
    assert store.snapshot(run.id)["scale/count"].shape == (1,)
    again = model_for_run(store, store.run(run.id))
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    # any other shape difference is refused, not reshaped
    store.log_snapshot(run.id, 10**6 + 1, "end", {**old, "out/kernel": old["out/kernel"].T})
    store.flush()
    with pytest.raises(ValueError, match=r"'out/kernel' has shape \(2, 1\).*shape \(1, 2\)"):
        model_for_run(store, store.run(run.id))
