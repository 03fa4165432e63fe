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


def _branched_run(tmp_path):
    from glassnet import layers

    inputs = Input(shape=(5,))
    a = Dense(3, activation="relu", name="a")(inputs)
    b = Dense(2, activation="tanh", name="b")(inputs)
    joined = layers.Concatenate(name="join")([a, b])
    h = Dense(4, name="h")(joined)
    summed = layers.Add(name="sum")([h, Dense(4, name="skip")(inputs)])
    model = gn.Model(inputs, layers.Activation("sigmoid", name="out")(summed))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5)), rng.uniform(size=(16, 4))
    run = gn.track.init(project="graph", store=tmp_path)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[run.watch()])
    run.finish()
    return run, model


def test_a_branched_model_is_drawn_with_an_edge_from_each_source(tmp_path):
    run, model = _branched_run(tmp_path)
    with make_client(tmp_path) as client:
        net = client.get(f"/api/runs/{run.id}/network").json()
    assert [c["name"] for c in net["columns"]] == ["input", "a", "b", "h", "skip"]
    assert [(e["layer"], e["from"], e["to"]) for e in net["edges"]] == [
        ("a", 0, 1), ("b", 0, 2), ("h", 1, 3), ("h", 2, 3), ("skip", 0, 4)]
    kernel = model.get_layer("h").kernel.numpy()
    # h reads concatenate([a, b]): rows 0-2 of its kernel come from a, rows 3-4 from b
    np.testing.assert_allclose(net["edges"][2]["weights"], kernel[:3], rtol=1e-6)
    np.testing.assert_allclose(net["edges"][3]["weights"], kernel[3:], rtol=1e-6)
    np.testing.assert_allclose(net["edges"][4]["weights"],
                               model.get_layer("skip").kernel.numpy(), rtol=1e-6)
    assert net["activations"]["out"] == "sigmoid"


def test_a_chain_functional_model_is_drawn_as_the_sequential_is(tmp_path):
    inputs = Input(shape=(4,))
    outputs = Dense(2, name="last")(Dense(3, activation="relu", name="first")(inputs))
    model = gn.Model(inputs, outputs)
    arrays = {v.path: v.numpy() for v in model.weights}
    net = gn.ui.network.network(arrays, model_config=model.get_config())
    assert [c["name"] for c in net["columns"]] == ["input", "first", "last"]
    assert all("from" not in e for e in net["edges"])


def test_a_branched_model_nested_in_a_sequential_is_drawn_as_its_graph():
    from glassnet import layers

    inputs = Input(shape=(5,))
    joined = layers.Concatenate()([Dense(3, name="a")(inputs), Dense(2, name="b")(inputs)])
    inner = gn.Model(inputs, Dense(4, name="h")(joined))
    model = gn.Sequential([inner, layers.Activation("relu"), Dense(2, name="top")])
    arrays = {v.path: v.numpy() for v in model.weights}
    net = gn.ui.network.network(arrays, model_config=model.get_config())
    assert [c["name"] for c in net["columns"]] == ["input", "a", "b", "h", "top"]
    assert [(e["layer"], e["from"], e["to"]) for e in net["edges"]] == [
        ("a", 0, 1), ("b", 0, 2), ("h", 1, 3), ("h", 2, 3), ("top", 3, 4)]
    np.testing.assert_allclose(net["edges"][3]["weights"], inner.get_layer("h").kernel.numpy()[3:],
                               rtol=1e-6)
