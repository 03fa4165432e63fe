"""Inspection, summary, watch and the report on models holding each of the new layers.

describe counts BatchNormalization's gamma with the weights and beta with the
biases; trace's backward pass through each layer equals central differences of
the inference loss; a watched fit records every Variable and the report's tables
and the network picture are made from the store.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.inspect.gradcheck import float64_copy
from glassnet.inspect.propagation import forward, output_gradient
from glassnet.layers import (
    BatchNormalization,
    Dense,
    GaussianNoise,
    Input,
    LeakyReLU,
    ReLU,
    Rescaling,
    Softmax,
)
from glassnet.models.summary import summary_text
from glassnet.track import init

NEW_LAYERS = {
    "batch_norm": lambda: BatchNormalization(gamma_initializer="random_uniform",
                                             beta_initializer="random_normal",
                                             moving_mean_initializer="random_normal"),
    "relu": lambda: ReLU(max_value=1.0, negative_slope=0.1, threshold=0.1),
    "leaky_relu": lambda: LeakyReLU(0.2),
    "softmax": lambda: Softmax(),
    "gaussian_noise": lambda: GaussianNoise(0.1, seed=0),
    "rescaling": lambda: Rescaling(0.5, offset=0.2),
}


def _model(kind):
    gn.utils.set_random_seed(0)
    layer = NEW_LAYERS[kind]()
    head = [Dense(3, bias_initializer="random_normal"), layer] if kind == "softmax" else \
        [Dense(5, activation="tanh", bias_initializer="random_normal"), layer,
         Dense(3, activation="softmax")]
    model = gn.Sequential([Input(shape=(4,)), *head])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, layer


def _data(n=24):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("kind", list(NEW_LAYERS))
def test_summary_and_describe_show_every_variable(kind):
    model, layer = _model(kind)
    text = summary_text(model)
    assert f"{layer.name} ({type(layer).__name__})" in text
    table = gn.inspect.describe(model)
    rows = [(r[0], r[1]) for r in table.rows]
    dense_weights = sum(v.size for v in model.weights if v.path.endswith("/kernel"))
    dense_biases = sum(v.size for v in model.weights if v.path.endswith("/bias"))
    if kind == "batch_norm":
        assert [name for owner, name in rows if owner == layer.name] == [
            "gamma", "beta", "moving_mean (not trained)", "moving_variance (not trained)"]
        dense_weights, dense_biases = dense_weights + 5, dense_biases + 5
        assert f"Weights (kernels): {dense_weights:,}   Biases: {dense_biases:,}" in text
    else:
        assert all(owner != layer.name for owner, _ in rows)
    assert table.notes[0].startswith(f"{dense_weights} weights and {dense_biases} biases")


def _inference_loss(model, x, y):
    return output_gradient(model, forward(model, x), y)[0]


@pytest.mark.parametrize("kind", list(NEW_LAYERS))
def test_trace_backward_equals_finite_differences(kind):
    original, _ = _model(kind)
    model = float64_copy(original)  # finite differences want float64 weights
    layer = model.layers[1]
    x, y = _data(6)
    x = x.astype(np.float64)
    trace = gn.inspect.trace(model, x, y)
    assert [p.name for p in trace.layers] == [lay.name for lay in model.layers]
    assert "Trace of" in str(trace) and set(trace.tables()) == {"forward", "backward"}
    first = trace.layers[0]
    kernel = model.layers[0].kernel.value
    numeric = np.empty_like(kernel)
    for index in np.ndindex(kernel.shape):
        keep = kernel[index]
        kernel[index] = keep + 1e-6
        up = _inference_loss(model, x, y)
        kernel[index] = keep - 1e-6
        down = _inference_loss(model, x, y)
        kernel[index] = keep
        numeric[index] = (up - down) / 2e-6
    np.testing.assert_allclose(first.dW, numeric, rtol=1e-5, atol=1e-9)
    if kind == "batch_norm":
        passed = trace[layer.name]
        gamma = layer.gamma.value
        for i in range(gamma.size):
            keep = gamma[i]
            gamma[i] = keep + 1e-6
            up = _inference_loss(model, x, y)
            gamma[i] = keep - 1e-6
            down = _inference_loss(model, x, y)
            gamma[i] = keep
            assert passed.extra["grads"]["gamma"][i] == pytest.approx((up - down) / 2e-6,
                                                                      rel=1e-5)
    if not getattr(layer, "trains_differently", False):
        # the engine's training pass gives the same gradient (no batch statistics or noise)
        engine = gn.inspect.gradients(model, x, y)
        np.testing.assert_allclose(engine[model.layers[0].kernel.path], first.dW, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(NEW_LAYERS))
def test_watched_fit_report_and_picture(kind, store, tmp_path):
    model, layer = _model(kind)
    x, y = _data()
    run = init(f"new-{kind}", store=store)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0,
                        callbacks=[run.watch(log_freq=1, snapshots="epoch")])
    run.finish()
    trainable = sorted(v.path for v in model.trainable_variables)
    assert store.param_paths(run.id) == trainable
    if kind == "batch_norm":
        assert "batch_normalization/gamma" in trainable
        end = store.snapshot(run.id, "end")
        np.testing.assert_array_equal(end["batch_normalization/moving_mean"],
                                      layer.moving_mean.numpy())
    np.testing.assert_allclose(store.metrics(run.id, "epoch/loss")[1], history.history["loss"],
                               rtol=1e-6)
    tables = gn.report.tables([run.id], store=store)
    assert tables and all(table.rows is not None for table in tables.values())
    gn.report.plots.network(model, path=tmp_path / "net.png")
    assert (tmp_path / "net.png").read_bytes()[:4] == b"\x89PNG"
