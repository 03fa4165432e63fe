"""Keras files of functional models with several inputs and outputs, both ways, against
the real Keras 3.

The graph has two inputs, two outputs and merges (Concatenate, Add), and its layers
are called in an order that is neither Keras's order of ``model.layers`` nor that of
the outputs: Keras walks back from each output in turn, so a writer or reader that
walked from one output, or used the call order, would put same-shaped weights (the
two Dense(3)) in each other's places, and the predictions below would differ.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need

h5py = pytest.importorskip("h5py")
ATOL = 2e-6
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")]

SPELLINGS = {
    "dict": dict(loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                 loss_weights={"reg": 0.5, "cls": 2.0},
                 metrics={"reg": ["mae"], "cls": ["accuracy"]}),
    "list": dict(loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[0.5, 2.0],
                 metrics=[["mae"], ["accuracy"]]),
}


def _graph(Input, Model, L):
    """The same architecture in Keras or glassnet (``Input``, ``Model``, layers)."""
    a, b = Input(shape=(4,), name="a"), Input(shape=(3,), name="b")
    p = L.Dense(3, name="p")  # called first, but nearer the output "cls" than "q"
    h = L.Dense(5, activation="relu", name="h")(a)
    from_h = p(h)
    g = L.Dense(2, activation="tanh", name="g")(b)
    merged = L.Concatenate(name="cat")([h, g])
    cls = L.Dense(3, activation="softmax", name="cls")(
        L.Add(name="add")([from_h, L.Dense(3, name="q")(merged)]))
    reg = L.Dense(1, name="reg")(merged)
    return Model(inputs=[a, b], outputs=[reg, cls])


def _glassnet_model():
    from glassnet import layers

    return _graph(gn.Input, gn.Model, layers)


def _keras_model(keras):
    return _graph(keras.Input, keras.Model, keras.layers)


def _data(seed=1, n=16):
    rs = np.random.RandomState(seed)
    x = [rs.standard_normal((n, 4)).astype(np.float32),
         rs.standard_normal((n, 3)).astype(np.float32)]
    y = [rs.standard_normal((n, 1)).astype(np.float32), rs.randint(0, 3, n)]
    return x, y


def _keras_predict(model, x):
    return [np.asarray(out.detach().cpu().numpy()) for out in model(x, training=False)]


def _assert_same_predictions(ours, theirs_outputs, x, atol=ATOL):
    mine = ours.predict(x, verbose=0)
    assert isinstance(mine, list) and len(mine) == len(theirs_outputs) == 2
    for out, (a, b) in zip(("reg", "cls"), zip(mine, theirs_outputs, strict=True)):
        assert a.shape == b.shape, out
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-6, err_msg=out)


def _assert_same_evaluation(ours, theirs, x, y):
    """Every logged value: the weighted total, each output's loss and metric."""
    mine = ours.evaluate(x, y, verbose=0, return_dict=True)
    keras_logs = theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(mine) == sorted(keras_logs) == [
        "cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    for key in keras_logs:
        np.testing.assert_allclose(mine[key], keras_logs[key], rtol=1e-5, atol=1e-6,
                                   err_msg=key)


def _leaf_weights_by_name(model):
    return {layer.name: [np.asarray(w) for w in layer.get_weights()]
            for layer in model.layers if layer.get_weights()}


def test_keras_orders_a_several_output_graph_as_glassnet_writes_it():
    from glassnet.io.keras_graph import keras_groups, keras_layers

    keras = need("keras")
    theirs = [layer.name for layer in _keras_model(keras).layers]
    ours = _glassnet_model()
    assert [layer.name for layer in keras_layers(ours)] == theirs
    assert theirs != [layer.name for layer in ours.layers]  # the call order differs
    groups = dict((layer.name, group) for group, layer in keras_groups(ours))
    # the group names of the weights file follow Keras's order, not the calls'
    assert [groups[n] for n in ("h", "g", "p", "q", "reg", "cls")] == [
        "dense", "dense_1", "dense_2", "dense_3", "dense_4", "dense_5"]
    assert groups["cat"] == "concatenate" and groups["add"] == "add"


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_keras_loads_a_glassnet_several_output_model_and_trains_on_alike(spelling,
                                                                        tmp_path):
    keras = need("keras")
    gn.utils.set_random_seed(0)
    x, y = _data()
    model = _glassnet_model()
    model.compile(gn.optimizers.Adam(0.01), **SPELLINGS[spelling])
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert theirs.output_names == ["reg", "cls"]
    x_new, _ = _data(seed=5)
    _assert_same_predictions(model, _keras_predict(theirs, x_new), x_new)
    # the compile settings came along: Keras weighs and names the logs as glassnet does
    _assert_same_evaluation(model, theirs, x, y)
    # and the optimizer's state: training on from the file matches glassnet training on
    assert int(theirs.optimizer.iterations) == model.optimizer.iterations == 4
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    ours_w, theirs_w = _leaf_weights_by_name(model), _leaf_weights_by_name(theirs)
    assert sorted(ours_w) == sorted(theirs_w)
    for name in ours_w:
        for a, b in zip(ours_w[name], theirs_w[name], strict=True):
            np.testing.assert_allclose(a, b, atol=2e-5, err_msg=name)


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_glassnet_loads_a_keras_several_output_model_with_its_compile_settings(spelling,
                                                                              tmp_path):
    keras = need("keras")
    keras.utils.set_random_seed(0)
    x, y = _data()
    theirs = _keras_model(keras)
    theirs.compile(keras.optimizers.Adam(0.01), **SPELLINGS[spelling])
    theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = gn.models.load_model(tmp_path / "k.keras")
    assert ours.output_names == ["reg", "cls"]
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    x_new, _ = _data(seed=6)
    _assert_same_predictions(ours, _keras_predict(theirs, x_new), x_new)
    config = ours.get_compile_config()
    assert config["loss_weights"] == {"reg": 0.5, "cls": 2.0}
    assert config["metrics"] == {"reg": ["mae"], "cls": ["accuracy"]}
    _assert_same_evaluation(ours, theirs, x, y)
    assert ours.optimizer.iterations == int(theirs.optimizer.iterations) == 4
    ours.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    _assert_same_predictions(ours, _keras_predict(theirs, x_new), x_new, atol=2e-5)


def test_weights_h5_of_a_several_output_model_goes_into_fresh_models_both_ways(tmp_path):
    keras = need("keras")
    model = _glassnet_model()
    rs = np.random.RandomState(4)
    model.set_weights([rs.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = _keras_model(keras)  # Keras's own names: matched by position, not name
    fresh.load_weights(tmp_path / "w.weights.h5")
    x, _ = _data(seed=7)
    _assert_same_predictions(model, _keras_predict(fresh, x), x)
    fresh.save_weights(tmp_path / "k.weights.h5")
    back = _glassnet_model()
    back.load_weights(tmp_path / "k.weights.h5")
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_tampered_several_output_compile_settings_are_refused_by_name(tmp_path):
    import json
    import zipfile

    keras = need("keras")
    theirs = _keras_model(keras)
    theirs.compile("adam", **SPELLINGS["list"])
    theirs.save(tmp_path / "k.keras")
    with zipfile.ZipFile(tmp_path / "k.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for key, value, message in [("loss", [["mse"], "mse"], "malformed Keras loss"),
                                ("loss_weights", [0.5, "x"], "must be a number"),
                                ("loss_weights", [0.5, 1.0, 2.0], "lists 3"),
                                ("metrics", {"nope": ["mae"]}, "name outputs")]:
        config = json.loads(members["config.json"])
        config["compile_config"][key] = value
        with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
            for name, data in {**members, "config.json": json.dumps(config).encode()}.items():
                archive.writestr(name, data)
        with pytest.raises(gn.errors.FileFormatError, match=message):
            gn.models.load_model(tmp_path / "bad.keras")
        assert gn.models.load_model(tmp_path / "bad.keras", compile=False).output_names == [
            "reg", "cls"]


def _dict_graph(Input, Model, L):
    """keras.io's functional guide spelling: ``outputs={key: tensor}``; the keys differ
    from the layers' names and are not in sorted order."""
    title, tags = Input(shape=(5,), name="title"), Input(shape=(3,), name="tags")
    x = L.Concatenate(name="joined")([L.Dense(4, activation="relu", name="enc")(title), tags])
    return Model(inputs=[title, tags],
                 outputs={"priority": L.Dense(1, name="p_head")(x),
                          "department": L.Dense(3, name="d_head")(x)})


def _dict_data(seed=2, n=16):
    rs = np.random.RandomState(seed)
    x = {"title": rs.standard_normal((n, 5)).astype(np.float32),
         "tags": rs.randint(0, 2, (n, 3)).astype(np.float32)}
    y = {"priority": rs.standard_normal((n, 1)).astype(np.float32),
         "department": np.eye(3, dtype=np.float32)[rs.randint(0, 3, n)]}
    return x, y


DICT_COMPILE = dict(loss={"priority": "mse", "department": "categorical_crossentropy"},
                    loss_weights={"priority": 1.0, "department": 0.2},
                    metrics={"department": ["accuracy"]})


def _assert_same_dicts(ours: dict, theirs: dict, atol=ATOL):
    assert list(ours) == sorted(theirs) == ["department", "priority"]
    for key in ours:
        np.testing.assert_allclose(ours[key], np.asarray(theirs[key]), atol=atol, rtol=1e-6,
                                   err_msg=key)


def test_outputs_given_as_a_dict_behave_as_in_keras():
    from glassnet import layers

    keras = need("keras")
    ours = _dict_graph(gn.Input, gn.Model, layers)
    theirs = _dict_graph(keras.Input, keras.Model, keras.layers)
    assert ours.output_names == theirs.output_names == ["d_head", "p_head"]
    for layer in theirs.layers:  # by name: the two list their layers in different orders
        ours.get_layer(layer.name).set_weights(layer.get_weights())
    x, y = _dict_data()
    _assert_same_dicts(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    assert sorted(ours(x)) == ["department", "priority"]
    ours.compile("sgd", **DICT_COMPILE)
    theirs.compile("sgd", **DICT_COMPILE)
    _assert_same_evaluation_of(ours, theirs, x, y)


def _assert_same_evaluation_of(ours, theirs, x, y):
    mine = ours.evaluate(x, y, verbose=0, return_dict=True)
    keras_logs = theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(mine) == sorted(keras_logs) == [
        "department_accuracy", "department_loss", "loss", "priority_loss"]
    for key in keras_logs:
        np.testing.assert_allclose(mine[key], keras_logs[key], rtol=1e-5, atol=1e-6,
                                   err_msg=key)


def test_a_dict_output_model_goes_through_keras_files_both_ways(tmp_path):
    import json
    import zipfile

    from glassnet import layers

    keras = need("keras")
    gn.utils.set_random_seed(0)
    x, y = _dict_data()
    model = _dict_graph(gn.Input, gn.Model, layers)
    model.compile(gn.optimizers.Adam(0.01), **DICT_COMPILE)
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    assert config["config"]["output_layers"] == {"priority": ["p_head", 0, 0],
                                                 "department": ["d_head", 0, 0]}
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    _assert_same_dicts(model.predict(x, verbose=0), theirs.predict(x, verbose=0))
    _assert_same_evaluation_of(model, theirs, x, y)
    theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    theirs.save(tmp_path / "k.keras")
    back = gn.models.load_model(tmp_path / "k.keras")
    _assert_same_dicts(back.predict(x, verbose=0), theirs.predict(x, verbose=0))
    _assert_same_evaluation_of(back, theirs, x, y)
    again = gn.models.load_model(tmp_path / "m.keras")  # and glassnet's own file back
    _assert_same_dicts(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=0)
