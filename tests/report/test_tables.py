"""The ten tables agree with independent computations from the trained models and the store."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.report import TABLE_NAMES, tables
from glassnet.report.tables import natural_key

EPOCHS, BATCH = 4, 32  # as tests/report/conftest.py trains


@pytest.fixture(scope="module")
def both(recorded):
    ids = [recorded["runs"][a][0] for a in ("relu", "tanh")]
    return tables(ids, store=recorded["store"])


@pytest.fixture(scope="module")
def store(recorded):
    return gn.track.open_store(recorded["store"])


def rows_of(table, **match):
    return [r for r in table.to_records() if all(r[k] == v for k, v in match.items())]


def label_of(store, run_id):
    return f"{store.run(run_id)['name']} ({run_id[:8]})"


def test_ten_tables_with_their_names(both):
    assert tuple(both) == TABLE_NAMES
    assert len(TABLE_NAMES) == 10
    for table in both.values():
        assert len(table) > 0 and table.title
        json.loads(table.to_json())
        assert table.to_markdown().count("\n|") >= len(table) + 1
        assert table.to_csv().count("\n") == len(table) + 1


def test_weights_table_mean_is_the_trained_kernels_mean(both, recorded, store):
    for run_id, model, _ in recorded["runs"].values():
        label = label_of(store, run_id)
        for layer in model.layers:
            W = layer.kernel.numpy().astype(np.float64)
            (row,) = rows_of(both["weights"], run=label, layer=layer.name)
            assert row["mean"] == pytest.approx(W.mean(), rel=1e-9, abs=1e-12)
            assert row["std"] == pytest.approx(W.std(), rel=1e-9)
            assert row["count"] == W.size and row["neg_share"] == np.mean(W < 0)
            # and the final snapshot says the same
            final = store.snapshot(run_id, "end")[f"{layer.name}/kernel"]
            assert row["mean"] == pytest.approx(final.astype(np.float64).mean(), rel=1e-12)


def test_biases_table_matches_the_trained_biases(both, recorded, store):
    run_id, model, _ = recorded["runs"]["tanh"]
    for layer in model.layers:
        b = layer.bias.numpy().astype(np.float64)
        (row,) = rows_of(both["biases"], run=label_of(store, run_id), layer=layer.name)
        assert row["mean"] == pytest.approx(b.mean(), rel=1e-9, abs=1e-12)
        assert row["max"] == pytest.approx(b.max()) and row["shape"] == str(b.size)


def test_weights_vs_biases(both, recorded, store):
    run_id, model, _ = recorded["runs"]["relu"]
    layer = model.layers[0]
    (row,) = rows_of(both["weights_vs_biases"], run=label_of(store, run_id), layer=layer.name)
    W, b = layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
    assert (row["weights"], row["biases"]) == (1600, 25)
    assert row["abs_b_over_abs_w"] == pytest.approx(np.abs(b).mean() / np.abs(W).mean(),
                                                    rel=1e-9)


def test_correlation_is_numpys_corrcoef_over_units(both, recorded, store):
    for run_id, model, _ in recorded["runs"].values():
        for layer in model.layers:
            W, b = layer.kernel.numpy(), layer.bias.numpy()
            expected = np.corrcoef(W.mean(axis=0), b)[0, 1]
            (row,) = rows_of(both["correlation"], run=label_of(store, run_id), layer=layer.name)
            assert row["pearson_r"] == pytest.approx(expected, abs=1e-6)
            assert row["units"] == layer.units


def test_weight_changes_per_epoch(both, recorded, store):
    run_id, model, _ = recorded["runs"]["relu"]
    label = label_of(store, run_id)
    steps_per_epoch = math.ceil(int(len(recorded["X"]) * 0.8) / BATCH)
    layer = model.layers[1].name
    rows = rows_of(both["weight_changes"], run=label, layer=layer)
    assert [r["epoch"] for r in rows] == list(range(EPOCHS))
    assert [r["to_step"] for r in rows] == [(e + 1) * steps_per_epoch - 1 for e in range(EPOCHS)]
    assert rows[0]["from_step"] == -1
    for earlier, later in zip(rows, rows[1:], strict=False):
        assert later["start_mean_abs_W"] == earlier["end_mean_abs_W"]
    start = store.snapshot(run_id, rows[2]["from_step"])[f"{layer}/kernel"].astype(np.float64)
    end = store.snapshot(run_id, rows[2]["to_step"])[f"{layer}/kernel"].astype(np.float64)
    assert rows[2]["norm_delta_W"] == pytest.approx(np.linalg.norm(end - start), rel=1e-12)
    final = model.layers[1].kernel.numpy().astype(np.float64)
    assert rows[-1]["end_mean_abs_W"] == pytest.approx(np.abs(final).mean(), rel=1e-9)


def test_bias_changes_start_from_zero_biases(both, recorded, store):
    run_id, model, _ = recorded["runs"]["tanh"]
    rows = rows_of(both["bias_changes"], run=label_of(store, run_id), epoch=0)
    assert len(rows) == 3
    for row, layer in zip(rows, model.layers, strict=True):
        assert row["layer"] == layer.name
        assert row["start_mean_abs_b"] == 0.0  # zeros initializer
        # relative to a norm of 0 is said as such, not printed as nan
        assert row["relative_delta_b"] == "from 0"
        assert row["norm_delta_b"] > 0


def test_accuracy_vs_weights_uses_validation_accuracy_of_each_epoch(both, recorded, store):
    run_id, model, history = recorded["runs"]["relu"]
    rows = rows_of(both["accuracy_vs_weights"], run=label_of(store, run_id),
                   layer=model.layers[0].name)
    assert [r["epoch"] for r in rows] == list(range(EPOCHS))
    assert {r["metric"] for r in rows} == {"val_accuracy"}
    np.testing.assert_allclose([r["accuracy"] for r in rows],
                               history.history["val_accuracy"], rtol=1e-12)
    W = model.layers[0].kernel.numpy()
    assert rows[-1]["std_w"] == pytest.approx(W.std(), rel=1e-6)
    assert rows[-1]["positive_w"] == np.mean(W > 0)


def test_activations_across_runs(both, recorded):
    table = both["activations"]
    assert table["activation"] == ["relu", "tanh"] and table["runs"] == [1, 1]
    for row in table.to_records():
        _, model, history = recorded["runs"][row["activation"]]
        kernels = np.concatenate([layer.kernel.numpy().ravel() for layer in model.layers])
        biases = np.concatenate([layer.bias.numpy().ravel() for layer in model.layers])
        assert row["mean_abs_w"] == pytest.approx(np.abs(kernels).mean(), rel=1e-6)
        assert row["mean_b"] == pytest.approx(biases.mean(), rel=1e-5, abs=1e-9)
        assert row["final_loss"] == pytest.approx(history.history["loss"][-1], rel=1e-9)
        assert row["final_accuracy"] == pytest.approx(history.history["val_accuracy"][-1])


def test_update_time_per_layer(both, recorded, store):
    run_id, model, _ = recorded["runs"]["relu"]
    rows = rows_of(both["update_time"], run=label_of(store, run_id))
    assert [r["layer"] for r in rows] == [layer.name for layer in model.layers]
    steps = math.ceil(int(len(recorded["X"]) * 0.8) / BATCH) * EPOCHS
    for row, layer in zip(rows, model.layers, strict=True):
        assert row["params"] == layer.count_params()
        assert row["steps_measured"] == math.ceil(steps / 5)  # log_freq=5
        assert row["backward_ms"] > 0 and row["update_ms"] > 0
        assert row["total_ms"] == pytest.approx(row["backward_ms"] + row["update_ms"])
        assert row["ns_per_weight"] == pytest.approx(row["total_ms"] * 1e6 / row["params"])


def test_loss_table_is_the_recorded_batch_loss(both, recorded, store):
    run_id, _, _ = recorded["runs"]["tanh"]
    rows = rows_of(both["loss"], run=label_of(store, run_id))
    steps, values = store.metrics(run_id, "loss")
    total = math.ceil(int(len(recorded["X"]) * 0.8) / BATCH) * EPOCHS
    assert len(rows) == 20 and rows[0]["step"] == 0 and rows[-1]["step"] == total - 1
    recorded_loss = dict(zip(steps.tolist(), values.tolist(), strict=True))
    assert all(r["loss"] == recorded_loss[r["step"]] for r in rows)
    assert rows[0]["epoch"] == 0 and rows[-1]["epoch"] == EPOCHS - 1
    assert rows[0]["loss"] == pytest.approx(math.log(10), rel=0.2)  # untrained: ~ -log(1/10)


def test_one_run_by_record_or_run_object(recorded, store):
    run_id = recorded["runs"]["relu"][0]
    record = store.run(run_id)
    one = tables(record, store=store)
    assert len(one["weights"]) == 3 and one["activations"]["activation"] == ["relu"]
    with pytest.raises(ConfigError, match="at least one run"):
        tables([], store=store)


def test_layers_are_listed_in_model_order_not_name_order(tmp_path):
    """zeta comes first in the network, alpha second: a name sort would swap them."""
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = np.random.default_rng(1).uniform(size=(32, 1)).astype(np.float32)
    model = gn.Sequential([gn.layers.Input(shape=(3,)),
                           gn.layers.Dense(4, activation="relu", name="zeta"),
                           gn.layers.Dense(4, activation="tanh", name="alpha"),
                           gn.layers.Dense(1, name="mid_10")])
    model.compile(optimizer="sgd", loss="mse")
    run = gn.track.init(project="order", store=tmp_path)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[run.watch(log_freq=1, snapshots="epoch")])
    run.finish()
    assert sorted(["zeta", "alpha", "mid_10"], key=natural_key) == ["alpha", "mid_10", "zeta"]
    out = tables(run.id, store=tmp_path)
    order = ["zeta", "alpha", "mid_10"]
    for name in ("weights", "biases", "weights_vs_biases", "correlation", "update_time"):
        assert [r["layer"] for r in out[name].to_records()] == order, name
    for name in ("weight_changes", "bias_changes", "accuracy_vs_weights"):
        layers = [r["layer"] for r in out[name].to_records()]
        assert layers and layers == order * (len(layers) // 3), name
    weights = out["weights"].to_records()
    assert [r["shape"] for r in weights] == ["3×4", "4×4", "4×1"]
    np.testing.assert_allclose([r["mean"] for r in weights],
                               [float(np.mean(layer.kernel.numpy(), dtype=np.float64))
                                for layer in model.layers], rtol=1e-6)


def test_runs_without_a_recorded_model_sort_layers_by_name_naturally(tmp_path):
    store = gn.track.open_store(tmp_path)
    run = gn.track.init(project="legacy", store=store)
    kernels = {"dense_10": (2, 1), "dense": (3, 2), "dense_2": (2, 2)}
    for step in (-1, 0):
        store.log_snapshot(run.id, step, "epoch", {f"{n}/kernel": np.ones(s, np.float32)
                                                   for n, s in kernels.items()})
    run.finish()
    assert store.model_config(run.id) is None
    rows = tables(run.id, store=store)["weights"].to_records()
    assert [r["layer"] for r in rows] == ["dense", "dense_2", "dense_10"]
