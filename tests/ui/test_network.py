"""The network diagram follows the run's recorded architecture, not names or kernel shapes."""

from __future__ import annotations

import numpy as np
from ui_helpers import make_client

import glassnet as gn
from glassnet.layers import Dense, Input
from glassnet.ui.network import layer_order


def _square_network():
    """Three 4x4 layers: every order chains by shape, and the names sort against the order."""
    return gn.Sequential([Input(shape=(4,)), Dense(4, activation="relu", name="zeta"),
                          Dense(4, activation="tanh", name="alpha"),
                          Dense(4, activation="sigmoid", name="mid")])


def test_the_diagram_draws_layers_in_the_recorded_model_order(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = np.random.default_rng(1).uniform(size=(16, 4)).astype(np.float32)
    model = _square_network()
    model.compile(optimizer="sgd", loss="mse")
    run = gn.track.init(project="order", store=tmp_path)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[run.watch()])
    run.finish()
    with make_client(tmp_path) as client:
        net = client.get(f"/api/runs/{run.id}/network").json()
    assert [c["name"] for c in net["columns"]] == ["input", "zeta", "alpha", "mid"]
    assert net["activations"] == {"zeta": "relu", "alpha": "tanh", "mid": "sigmoid"}
    for edge, layer in zip(net["edges"], model.layers, strict=True):
        assert edge["layer"] == layer.name
        np.testing.assert_allclose(edge["weights"], layer.kernel.numpy(), rtol=1e-6)


def test_without_a_recorded_model_the_order_is_guessed_from_names_and_shapes():
    arrays = {f"{name}/kernel": np.zeros((4, 4)) for name in ("zeta", "alpha", "mid")}
    assert layer_order(arrays) == ["alpha", "mid", "zeta"]  # square kernels: names decide
    config = _square_network().get_config()
    assert layer_order(arrays, config) == ["zeta", "alpha", "mid"]
    # a config that does not name every kernel (another model's) is not trusted
    assert layer_order({**arrays, "extra/kernel": np.zeros((4, 4))}, config) == \
        ["alpha", "extra", "mid", "zeta"]
