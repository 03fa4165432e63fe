"""The recorded architecture of a run: schema upgrade, store round trip, the watch records it."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from track_helpers import old_store

import glassnet as gn
from glassnet.layers import Dense, Input
from glassnet.track import Store, init, open_store
from glassnet.track.architecture import activations, in_model_order, layer_names, layer_specs
from glassnet.track.errors import ConfigError
from glassnet.track.store import DB_NAME, SCHEMA_VERSION


def _zeta_alpha_model():
    """Layers whose names sort against their order: zeta (first), then alpha."""
    model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="relu", name="zeta"),
                           Dense(2, activation="sigmoid", name="alpha")])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


@pytest.mark.slow
def test_a_store_of_the_previous_schema_upgrades_and_its_runs_have_no_model_config(store_dir):
    old_store(store_dir, 1, "before-configs")
    tables = {r[0] for r in sqlite3.connect(store_dir / DB_NAME).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "model_configs" not in tables
    store = Store(store_dir)
    assert store.schema_version == SCHEMA_VERSION
    old = store.run("0ldrun00")
    assert (old.project, old.name, old.status) == ("legacy", "before-configs", "finished")
    assert store.model_config(old.id) is None
    assert store.model_compile_config(old.id) is None
    store.set_model_config(old.id, {"layers": []})  # the upgraded store takes new rows
    assert store.model_config(old.id) == {"layers": []}
    store.close()
    reopened = Store(store_dir)  # opening again runs no migration twice
    assert reopened.schema_version == SCHEMA_VERSION
    assert reopened.model_config("0ldrun00") == {"layers": []}
    reopened.close()


def _row_time(store, run_id):
    return store.backend.read("SELECT time FROM model_configs WHERE run_id = ?", (run_id,))[0][0]


def test_model_config_round_trips_and_is_rewritten_only_when_it_changes(store):
    run = init("p", store=store)
    config = {"name": "m", "layers": [{"class_name": "Dense", "config": {"name": "d", "units": 3}}]}
    store.set_model_config(run.id, config, {"loss": "mse"})
    assert store.model_config(run.id) == config
    assert store.model_compile_config(run.id) == {"loss": "mse"}
    first = _row_time(store, run.id)
    store.set_model_config(run.id, dict(config), {"loss": "mse"})
    assert _row_time(store, run.id) == first  # the same config: the row is kept as it was
    changed = {"name": "m", "layers": []}
    store.set_model_config(run.id, changed)
    assert store.model_config(run.id) == changed and store.model_compile_config(run.id) is None
    assert _row_time(store, run.id) >= first
    with pytest.raises(ConfigError, match=r"model config of run .* must be a dict .*got str"):
        store.set_model_config(run.id, "dense-4-2")
    with pytest.raises(ConfigError, match=r"compile config .* must be a dict .*got list"):
        store.set_model_config(run.id, config, ["mse"])


def test_the_watch_records_layer_order_classes_units_and_activations(store):
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    y = np.random.default_rng(1).uniform(size=(16, 2)).astype(np.float32)
    model = _zeta_alpha_model()
    run = init("p", store=store)
    watch = run.watch(log_freq=2)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[watch])
    config = store.model_config(run.id)
    assert layer_specs(config) == [
        {"name": "zeta", "class_name": "Dense", "units": 4, "activation": "relu"},
        {"name": "alpha", "class_name": "Dense", "units": 2, "activation": "sigmoid"}]
    compiled = store.model_compile_config(run.id)
    assert compiled["loss"]["class_name"] == "MeanSquaredError"
    assert compiled["optimizer"]["class_name"] == "SGD"
    assert compiled["optimizer"]["config"]["learning_rate"] == pytest.approx(0.05)
    first = _row_time(store, run.id)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[watch])  # the same model
    assert _row_time(store, run.id) == first
    model.layers[0].trainable = False  # a different config: the second fit replaces it
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[watch])
    assert store.model_config(run.id)["layers"][0]["config"]["trainable"] is False
    run.finish()
    # what the run recorded rebuilds the same network: same predictions with the same weights
    rebuilt = gn.Sequential.from_config(store.model_config(run.id))
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_order_puts_recorded_layers_first_and_unknown_names_after():
    config = {"layers": [{"class_name": "Dense", "config": {"name": "zeta", "units": 4,
                                                            "activation": "relu"}},
                         {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}},
                         {"class_name": "Dense", "config": {"name": "alpha", "units": 1,
                                                            "activation": "linear"}}]}
    assert layer_names(config) == ["zeta", "drop", "alpha"]
    assert activations(config) == {"zeta": "relu", "alpha": "linear"}
    assert in_model_order(["alpha", "extra_b", "zeta", "extra_a"], config, str) == \
        ["zeta", "alpha", "extra_a", "extra_b"]
    assert in_model_order(["b", "a"], None, str) == ["a", "b"]
    assert layer_specs(None) == [] and layer_names({}) == []


@pytest.mark.slow
def test_open_store_upgrades_too(store_dir):
    old_store(store_dir, 1, "before-configs")
    store = open_store(store_dir)
    assert store.schema_version == SCHEMA_VERSION and store.model_config("0ldrun00") is None
    store.close()
