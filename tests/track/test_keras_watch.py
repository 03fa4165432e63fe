"""glassnet.track.keras.Watch in a real Keras 3 fit (torch backend), against Keras's weights."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import glassnet as gn  # noqa: E402
from frameworks import need  # noqa: E402
from glassnet.track.paramstats import COLUMNS  # noqa: E402

keras = need("keras")
ops = keras.ops


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dropout(0.0), keras.layers.Dense(3, name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.2, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _data(n=32, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)).astype("float32"), rng.integers(0, 3, n)


class _Truth(keras.callbacks.Callback):
    """The model's own weights before and after every step, and its batch losses."""

    def __init__(self, X, y, batch):
        super().__init__()
        self.X, self.y, self.batch = X, y, batch
        self.before, self.after, self.losses = {}, {}, []
        self.step = 0

    def _weights(self):
        return {f"{v.path.split('/', 1)[1]}": ops.convert_to_numpy(v).astype(np.float64)
                for v in self.model.trainable_weights}

    def on_train_batch_begin(self, batch, logs=None):
        self.before[self.step] = self._weights()
        i = batch * self.batch
        logits = self.model(self.X[i:i + self.batch], training=False)
        loss = self.model.loss(self.y[i:i + self.batch], logits)
        self.losses.append(float(ops.convert_to_numpy(loss)))

    def on_train_batch_end(self, batch, logs=None):
        self.after[self.step] = self._weights()
        self.step += 1


def test_recorded_statistics_equal_the_models_own_weights(tmp_path):
    from glassnet.track.keras import Watch

    model, (X, y) = _model(), _data()
    run = gn.track.init("keras", store=tmp_path)
    truth = _Truth(X, y, 8)
    watch = Watch(run, log_freq=3)
    assert isinstance(watch, keras.callbacks.Callback)
    history = model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                        validation_data=(X[:8], y[:8]), callbacks=[truth, watch])
    run.finish()
    store = run.store
    assert store.param_paths(run.id) == ["hidden/bias", "hidden/kernel", "out/bias",
                                         "out/kernel"]
    steps, losses = store.metrics(run.id, "loss")
    assert steps.tolist() == list(range(8))
    assert np.allclose(losses, truth.losses, rtol=1e-4, atol=1e-5)
    for path in store.param_paths(run.id):
        records = store.param_stats(run.id, path)
        assert [r["step"] for r in records] == [0, 3, 6]
        for record in records:
            w, w0 = truth.after[record["step"]][path], truth.before[record["step"]][path]
            want = {"count": w.size, "mean": w.mean(), "std": w.std(), "min": w.min(),
                    "max": w.max(), "l2": np.linalg.norm(w), "neg_share": np.mean(w < 0),
                    "update_ratio": np.linalg.norm(w - w0) / np.linalg.norm(w)}
            for key, value in want.items():
                assert record[key] == pytest.approx(value, rel=1e-5, abs=1e-9), (path, key)
            assert all(np.isnan(record[c]) for c in COLUMNS if c.startswith("grad_"))
            counts, edges = record["histogram"]
            want_counts, want_edges = np.histogram(w, bins=64)
            assert np.allclose(edges, want_edges) and np.abs(counts - want_counts).sum() <= 2
    epoch_loss = store.metrics(run.id, "epoch/loss")
    assert epoch_loss[0].tolist() == [3, 7]
    assert np.allclose(epoch_loss[1], history.history["loss"])
    assert np.allclose(store.metrics(run.id, "epoch/val_accuracy")[1],
                       history.history["val_accuracy"])
    assert store.metrics(run.id, "accuracy")[0].tolist() == [0, 3, 6]


def test_snapshot_and_architecture_rebuild_the_keras_model(tmp_path):
    from glassnet.apps.recorded import model_for_run
    from glassnet.track.keras import Watch

    model, (X, y) = _model(), _data()
    run = gn.track.init("keras", store=tmp_path)
    model.fit(X, y, batch_size=8, epochs=1, verbose=0, callbacks=[Watch(run)])
    run.finish()
    arrays = run.store.snapshot(run.id, "end")
    first = model.layers[0]
    assert np.array_equal(arrays[f"{first.name}/kernel"], ops.convert_to_numpy(first.kernel))
    assert run.store.snapshots(run.id) == [-1, 3]
    rebuilt = model_for_run(run.store, run.store.run(run.id))
    want = ops.convert_to_numpy(model(X, training=False))
    assert np.allclose(rebuilt.predict(X, verbose=0), want, atol=1e-5)


def test_a_layer_glassnet_cannot_read_is_recorded_without_an_architecture(tmp_path):
    from glassnet.track.keras import Watch

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                              keras.layers.LayerNormalization(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    X, _ = _data()
    run = gn.track.init("keras", store=tmp_path)
    model.fit(X, X[:, :1], batch_size=16, epochs=1, verbose=0, callbacks=[Watch(run)])
    run.finish()
    assert run.store.model_config(run.id) is None
    norm = model.layers[1].name
    assert {f"{norm}/gamma", f"{norm}/beta"} <= set(run.store.param_paths(run.id))


def test_dead_and_saturated_shares_equal_the_layers_own_outputs(tmp_path):
    """Forward hooks on the Keras layers (torch backend) against NumPy on the same batch
    and the weights before the step; hooks are gone after fit."""
    from glassnet.track.keras import Watch

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(6, activation="tanh", name="squash"),
                              keras.layers.Dense(3, name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    kernel, bias, k2, b2 = (ops.convert_to_numpy(v) for v in model.weights[:4])
    bias[:5] = -40.0  # 5 of 8 ReLU units cannot fire on this data
    model.layers[0].set_weights([kernel, bias])
    b2[:3], b2[3] = 6.0, -6.0  # tanh units pushed into their flat ends
    model.layers[1].set_weights([k2, b2])
    X, y = _data()
    truth = _Truth(X, y, 8)
    run = gn.track.init("keras", store=tmp_path)
    model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
              validation_data=(X[:8], y[:8]), callbacks=[truth, Watch(run, log_freq=1)])
    run.finish()
    assert all(not layer._forward_hooks for layer in model.layers)
    hidden = run.store.layer_stats(run.id, "hidden")
    squash = run.store.layer_stats(run.id, "squash")
    assert [r["step"] for r in hidden] == list(range(8))
    saturated_seen = set()
    for h, s in zip(hidden, squash, strict=True):
        w = truth.before[h["step"]]
        i = (h["step"] % 4) * 8
        xb = X[i:i + 8].astype(np.float32)
        a = np.maximum(xb @ w["hidden/kernel"].astype(np.float32) + w["hidden/bias"], 0)
        t = np.tanh(a @ w["squash/kernel"].astype(np.float32) + w["squash/bias"])
        assert h["dead_share"] == pytest.approx(np.mean(a.max(0) <= 0))
        want = np.mean((t.min(0) > 0.99) | (t.max(0) < -0.99))
        assert s["saturated_share"] == pytest.approx(want)
        assert np.isnan(h["saturated_share"]) and np.isnan(s["dead_share"])
        saturated_seen.add(want)
    assert hidden[0]["dead_share"] >= 5 / 8
    assert max(saturated_seen) > 0  # the test can tell a wrong count from a right one
