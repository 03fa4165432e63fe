"""Keras files of functional and nested models, both ways, against the real Keras 3.

Keras lists a functional model's layers by depth, not in the order they were
called, and names each weights group by that order: the graphs here are built so
the two orders differ (a Dense called first but nearer the output), so a reader or
writer that used the call order would put same-shaped weights in the wrong layers.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet import layers

h5py = pytest.importorskip("h5py")
ATOL = 2e-6
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _x(seed=1, n=16):
    return np.random.RandomState(seed).standard_normal((n, 4)).astype(np.float32)


def _y(n=16):
    return np.tanh(_x(2, n) @ np.ones((4, 2), np.float32)).astype(np.float32)


def _predict(model, x):
    return model(x, training=False).detach().cpu().numpy()


def _keras_graph(keras, kind):
    """The same architectures in Keras: chain, branches, nested."""
    L = keras.layers
    inputs = keras.Input(shape=(4,))
    if kind == "chain":
        outputs = L.Dense(2)(L.Dense(3, activation="tanh")(L.Dense(5, activation="relu")(inputs)))
        return keras.Model(inputs, outputs)
    short = L.Dense(3, activation="tanh")(inputs)  # called first, one step from the merge
    deep = L.Dense(3)(L.Dense(5, activation="relu")(inputs))
    merged = L.Concatenate()([L.Concatenate()([deep, short]), L.Add()([deep, short])])
    model = keras.Model(inputs, L.Dense(2)(merged))
    if kind == "branches":
        return model
    if kind == "model-in-sequential":
        return keras.Sequential([keras.Input((4,)), model, L.Softmax()])
    inner = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu"), L.Dense(3)])
    return keras.Sequential([keras.Input((4,)), inner, L.Dense(2)])  # sequential-in-sequential


def _glassnet_graph(kind):
    inputs = gn.Input(shape=(4,))
    if kind == "chain":
        x = layers.Dense(3, activation="tanh")(layers.Dense(5, activation="relu")(inputs))
        return gn.Model(inputs=inputs, outputs=layers.Dense(2)(x))
    short = layers.Dense(3, activation="tanh")(inputs)
    deep = layers.Dense(3)(layers.Dense(5, activation="relu")(inputs))
    merged = layers.Concatenate()([layers.Concatenate()([deep, short]),
                                   layers.Add()([deep, short])])
    model = gn.Model(inputs=inputs, outputs=layers.Dense(2)(merged))
    if kind == "branches":
        return model
    return gn.Sequential([gn.Input((4,)), model, layers.Softmax()])


KERAS_KINDS = ["chain", "branches", "model-in-sequential", "sequential-in-sequential"]
GLASSNET_KINDS = ["chain", "branches", "model-in-sequential"]


def _randomize(keras_model, seed=3):
    rs = np.random.RandomState(seed)
    keras_model.set_weights([rs.standard_normal(w.shape).astype(np.float32)
                             for w in keras_model.get_weights()])


@pytest.mark.slow
@pytest.mark.parametrize("kind", KERAS_KINDS)
def test_glassnet_loads_a_keras_file_of_a_functional_or_nested_model(kind, tmp_path):
    keras = need("keras")
    model = _keras_graph(keras, kind)
    _randomize(model)
    model.save(tmp_path / "m.keras")
    loaded = gn.models.load_model(tmp_path / "m.keras")
    x = _x()
    # float32 outputs near 37 differ in their last bits between BLAS kernels: relative too
    np.testing.assert_allclose(loaded.predict(x, verbose=0), _predict(model, x), atol=ATOL,
                               rtol=1e-6)
    # every weight array sits in the layer Keras has it in (same names, same values)
    for theirs, ours in zip(model.layers, loaded.layers, strict=True):
        assert theirs.name == ours.name
    keras_arrays = sorted(w.tobytes() for w in model.get_weights())
    assert sorted(np.asarray(w).tobytes() for w in loaded.get_weights()) == keras_arrays


@pytest.mark.slow
def test_keras_lists_a_graph_by_depth_and_glassnet_follows_it():
    from glassnet.io.keras_graph import keras_layers

    keras = need("keras")
    ours, theirs = _glassnet_graph("branches"), _keras_graph(keras, "branches")

    def roles(model_layers):
        return [(type(layer).__name__, layer.get_config().get("units"),
                 layer.get_config().get("activation")) for layer in model_layers]

    # the Dense called first (tanh) comes after the deep branch's Dense layers in Keras
    assert roles(theirs.layers)[1:4] == [("Dense", 5, "relu"), ("Dense", 3, "linear"),
                                         ("Dense", 3, "tanh")]
    assert roles(keras_layers(ours)) == roles(theirs.layers)
    assert roles(ours.layers)[1:4] != roles(theirs.layers)[1:4]  # the call order differs


@pytest.mark.slow
@pytest.mark.parametrize("kind", GLASSNET_KINDS)
def test_keras_loads_a_glassnet_functional_or_nested_model(kind, tmp_path):
    keras = need("keras")
    gn.utils.set_random_seed(0)
    model = _glassnet_graph(kind)
    model.compile(gn.optimizers.Adam(0.01), "mse")
    model.fit(_x(), _y(), epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = _x(5)
    np.testing.assert_allclose(_predict(loaded, x), model.predict(x, verbose=0), atol=ATOL)
    # and back: Keras's own save of it loads into glassnet with the same predictions
    loaded.save(tmp_path / "again.keras")
    again = gn.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=ATOL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", GLASSNET_KINDS)
def test_weights_h5_of_a_graph_loads_in_keras_into_a_fresh_model(kind, tmp_path):
    keras = need("keras")
    model = _glassnet_graph(kind)
    rs = np.random.RandomState(4)
    model.set_weights([rs.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = _keras_graph(keras, kind)
    fresh.load_weights(tmp_path / "w.weights.h5")
    x = _x(6)
    np.testing.assert_allclose(_predict(fresh, x), model.predict(x, verbose=0), atol=ATOL)
    # every array identical, matched layer to layer
    ours = {layer.name: layer for layer in _leaves(model)}
    assert len(ours) == len(_leaves_k(fresh))
    for theirs in _leaves_k(fresh):
        mine = [layer for layer in ours.values() if _same_role(layer, theirs, model, fresh)]
        assert len(mine) == 1
        for a, b in zip(mine[0].get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    # and a fresh glassnet model reads Keras's save_weights of it back identically
    fresh.save_weights(tmp_path / "k.weights.h5")
    back = _glassnet_graph(kind)
    back.load_weights(tmp_path / "k.weights.h5")
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def _leaves(model):
    from glassnet.io.keras_graph import is_model, keras_layers

    out = []
    for layer in keras_layers(model):
        out += _leaves(layer) if is_model(layer) else ([layer] if layer.weights else [])
    return out


def _leaves_k(model):
    out = []
    for layer in model.layers:
        out += _leaves_k(layer) if hasattr(layer, "layers") else (
            [layer] if layer.weights else [])
    return out


def _same_role(ours, theirs, our_model, their_model):
    """The layer at the same position of Keras's order of layers holding weights."""
    return _leaves(our_model).index(ours) == _leaves_k(their_model).index(theirs)


def _keras_ordered_weights(model):
    return [w for layer in _leaves(model) for w in layer.get_weights()]


OPTIMIZERS = {"adam": lambda: gn.optimizers.Adam(0.01),
              "sgd": lambda: gn.optimizers.SGD(0.05, momentum=0.9)}


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("kind", ["branches", "model-in-sequential"])
def test_optimizer_state_of_a_graph_continues_in_keras_and_back(kind, optimizer, tmp_path):
    """Trained in glassnet, saved, trained on in Keras: the same weights as glassnet
    training on; and Keras's file back in glassnet trains on the same as Keras."""
    keras = need("keras")
    gn.utils.set_random_seed(0)
    model = _glassnet_graph(kind)
    model.compile(OPTIMIZERS[optimizer](), "mse")
    x, y = _x(n=16), _y(n=16)
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(theirs.get_weights(), _keras_ordered_weights(model), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)
    np.testing.assert_allclose(_predict(theirs, x), model.predict(x, verbose=0), atol=2e-5)
    assert int(theirs.optimizer.iterations) == model.optimizer.iterations == 8
    theirs.save(tmp_path / "k.keras")
    ours = gn.models.load_model(tmp_path / "k.keras")
    assert ours.optimizer.iterations == 8
    ours.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(theirs.get_weights(), _keras_ordered_weights(ours), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)
    np.testing.assert_allclose(ours.predict(x, verbose=0), _predict(theirs, x), atol=2e-5)


@pytest.mark.slow
def test_model_from_json_and_keras_files_share_one_translation():
    """Keras's JSON of a graph with a BatchNormalization (which only the .keras reader
    knew before) rebuilds through the same code as a .keras file."""
    keras = need("keras")
    L = keras.layers
    inputs = keras.Input(shape=(4,))
    x = L.BatchNormalization()(L.Dense(3)(inputs))
    model = keras.Model(inputs, L.Add()([x, L.Dense(3)(inputs)]))
    rebuilt = gn.models.model_from_json(model.to_json())
    assert [type(layer).__name__ for layer in rebuilt.layers] == [
        type(layer).__name__ for layer in model.layers]


@pytest.mark.slow
def test_a_tampered_graph_is_refused_before_it_allocates(tmp_path):
    import json
    import zipfile

    keras = need("keras")
    model = _keras_graph(keras, "branches")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    dense = next(e for e in config["config"]["layers"] if e["class_name"] == "Dense")
    dense["config"]["units"] = 10**9
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(gn.errors.FileFormatError, match="more weights than"):
        gn.models.load_model(tmp_path / "bad.keras")


def _rewritten(src, dst, change_config=None, change_h5=None):
    """A copy of the .keras file ``src`` with its config or weights changed."""
    import io
    import json
    import zipfile

    with zipfile.ZipFile(src) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if change_config:
        config = json.loads(members["config.json"])
        change_config(config)
        members["config.json"] = json.dumps(config).encode()
    if change_h5:
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "r+") as h5:
            change_h5(h5)
        members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return dst


@pytest.mark.slow
def test_models_nested_too_deep_are_refused(tmp_path):
    keras = need("keras")
    _keras_graph(keras, "model-in-sequential").save(tmp_path / "m.keras")

    def nest(config):
        inner = config["config"]["layers"][1]
        for _ in range(40):
            inner = {**inner, "config": {**inner["config"], "layers": [
                *inner["config"]["layers"][:-1], {**inner, "inbound_nodes":
                                                  inner["config"]["layers"][-1]["inbound_nodes"]}]}}
        config["config"]["layers"][1] = inner

    bad = _rewritten(tmp_path / "m.keras", tmp_path / "deep.keras", change_config=nest)
    with pytest.raises(gn.errors.FileFormatError, match="nested more than 16 deep"):
        gn.models.load_model(bad)


@pytest.mark.slow
def test_weights_of_a_graph_under_another_layers_group_are_refused(tmp_path):
    keras = need("keras")
    model = _keras_graph(keras, "branches")
    model.save(tmp_path / "m.keras")

    def swap_names(h5):  # the group of the first Dense claims to hold another layer's
        h5["layers/dense/vars"].attrs["name"] = "someone_else"

    bad = _rewritten(tmp_path / "m.keras", tmp_path / "bad.keras", change_h5=swap_names)
    with pytest.raises(gn.errors.FileFormatError,
                       match=r"/layers/dense holds the weights of layer 'someone_else'"):
        gn.models.load_model(bad)


@pytest.mark.slow
def test_a_graph_with_batch_normalization_trains_on_in_keras(tmp_path):
    """Moving statistics are non-trainable: stored with the layer, not in the slots."""
    keras = need("keras")
    gn.utils.set_random_seed(0)
    inputs = gn.Input(shape=(4,))
    side = layers.Dense(3, activation="relu")(inputs)
    # no bias before the BatchNormalization: its gradient is zero up to rounding, which
    # Adam's step (m / sqrt(v)) would blow up into differences of rounding, not of files
    main = layers.BatchNormalization()(layers.Dense(3, use_bias=False)(inputs))
    model = gn.Model(inputs=inputs, outputs=layers.Dense(1)(layers.Add()([main, side])))
    model.compile(gn.optimizers.Adam(0.01), "mse")
    x, y = _x(n=16), _y(n=16)[:, :1]
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(_predict(theirs, x), model.predict(x, verbose=0), atol=ATOL)
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(theirs.get_weights(), _keras_ordered_weights(model), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)


@pytest.mark.slow
def test_same_shaped_branches_get_their_own_weights_not_each_others(tmp_path):
    """Every Dense is 4 -> 4: a mix-up by call order would load without any error."""
    keras = need("keras")
    L = keras.layers
    k_in = keras.Input(shape=(4,))
    k_short = L.Dense(4, activation="tanh")(k_in)
    k_deep = L.Dense(4)(L.Dense(4, activation="relu")(k_in))
    theirs = keras.Model(k_in, L.Add()([k_deep, k_short]))
    _randomize(theirs, seed=7)
    theirs.save_weights(tmp_path / "w.weights.h5")
    inputs = gn.Input(shape=(4,))
    short = layers.Dense(4, activation="tanh")(inputs)
    deep = layers.Dense(4)(layers.Dense(4, activation="relu")(inputs))
    ours = gn.Model(inputs=inputs, outputs=layers.Add()([deep, short]))
    ours.load_weights(tmp_path / "w.weights.h5")
    x = _x(8)
    np.testing.assert_allclose(ours.predict(x, verbose=0), _predict(theirs, x), atol=ATOL)
    np.testing.assert_array_equal(short.node.layer.kernel.value, theirs.layers[3].kernel.numpy())
