"""ONNX export: onnxruntime (an independent runtime) computes what ``model.predict`` does."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.activations import ACTIVATIONS
from glassnet.errors import ConfigError, MissingDependencyError
from glassnet.layers import Activation, Dense, Dropout, Flatten, Input, Normalization

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ATOL = 1e-5
KERAS = Path(__file__).resolve().parents[1] / "data" / "keras"


def _export(model, tmp_path, **kwargs):
    path = tmp_path / "model.onnx"
    gn.io.export_onnx(model, path, **kwargs)
    return path


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]


def _assert_matches(model, path, x):
    for batch in (1, 7):  # the batch axis is dynamic
        got = _run(path, x[:batch])
        assert got.shape == (batch,) + model.output_shape[1:]
        np.testing.assert_allclose(got, model.predict(x[:batch]), rtol=0, atol=ATOL)


def _inputs(shape=(3,), scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((7,) + shape)).astype(np.float32)


def _op_types(path):
    return [node.op_type for node in onnx.load(str(path)).graph.node]


@pytest.mark.slow
@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_runs_alike_in_onnxruntime(activation, opset, tmp_path):
    model = gn.Sequential([Input((3,)), Dense(5, activation), Dense(4, activation),
                           Activation(activation)])
    for layer in model.layers[:2]:  # wide pre-activations: both tails of every function
        layer.kernel.assign(3.0 * layer.kernel.value)
        layer.bias.assign(np.linspace(-2.0, 2.0, layer.units))
    path = _export(model, tmp_path, opset=opset)
    _assert_matches(model, path, _inputs())
    if activation == "gelu":
        assert ("Gelu" in _op_types(path)) == (opset >= 20)
        assert ("Erf" in _op_types(path)) == (opset < 20)


def test_normalization_dropout_flatten_model_runs_alike(tmp_path):
    x = _inputs(shape=(2, 3))
    x[:, 1, 2] = 4.0  # a constant feature: variance 0, divided by epsilon as in glassnet
    norm = Normalization(name="norm")
    model = gn.Sequential([Input((2, 3)), Flatten(name="flat"), norm,
                           Dense(6, "relu", name="hidden"), Dropout(0.5, name="drop"),
                           Dense(3, "softmax", use_bias=False, name="out")])
    norm.adapt(x.reshape(7, -1))
    path = _export(model, tmp_path)
    _assert_matches(model, path, x)
    ops = _op_types(path)
    assert "Dropout" not in ops
    assert ops[:3] == ["Flatten", "Sub", "Div"]
    denominators = {t.name: onnx.numpy_helper.to_array(t)
                    for t in onnx.load(str(path)).graph.initializer}
    expected = np.maximum(np.sqrt(norm.variance.value), 1e-7)
    np.testing.assert_allclose(denominators["norm/denominator"], expected, rtol=1e-7)


def test_inverted_normalization_runs_alike(tmp_path):
    model = gn.Sequential([Input((3,)), Dense(3), Normalization(mean=[1.0, -2.0, 0.5],
                                                                variance=[4.0, 0.25, 9.0],
                                                                invert=True)])
    _assert_matches(model, _export(model, tmp_path), _inputs())


def test_float64_model_exports_in_float32_by_default(float64, tmp_path):
    model = gn.Sequential([Input((3,)), Dense(4, "gelu"), Dense(2, "softplus")])
    path = _export(model, tmp_path)
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.elem_type == \
        onnx.TensorProto.FLOAT
    _assert_matches(model, path, _inputs())


def test_keras_made_model_exports_and_matches_keras(tmp_path):
    from safetensors.numpy import load_file

    pytest.importorskip("h5py")
    model = gn.io.load_keras(KERAS / "norm_mlp.keras")
    expected = load_file(str(KERAS / "norm_mlp.io.safetensors"))
    np.testing.assert_allclose(_run(_export(model, tmp_path), expected["x"]), expected["y"],
                               rtol=0, atol=ATOL)


def test_file_passes_the_checker_has_a_dynamic_batch_and_metadata(tmp_path):
    model = gn.Sequential([Input((4,)), Dense(3, "relu", name="hidden"),
                           Dropout(0.1, name="drop"), Dense(2, name="out")], name="tiny")
    path = _export(model, tmp_path)
    onnx.checker.check_model(str(path), full_check=True)
    proto = onnx.load(str(path))
    for value in (proto.graph.input[0], proto.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and not dims[0].HasField("dim_value")
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]] == [4]
    meta = {prop.key: prop.value for prop in proto.metadata_props}
    assert meta["glassnet_version"] == gn.__version__
    assert meta["model_name"] == "tiny"
    assert json.loads(meta["layer_paths"]) == ["hidden/kernel", "hidden/bias", "out/kernel",
                                               "out/bias"]
    assert [layer["name"] for layer in json.loads(meta["layers"])] == ["hidden", "drop", "out"]
    assert proto.producer_name == "glassnet"
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(initializers["hidden/kernel"], model.layers[0].kernel.value)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]  # no temporary file left


def test_a_model_of_identity_layers_still_exports(tmp_path):
    model = gn.Sequential([Input((3,)), Dropout(0.3)])
    x = _inputs()
    _assert_matches(model, _export(model, tmp_path), x)
    np.testing.assert_array_equal(_run(tmp_path / "model.onnx", x), x)


@pytest.mark.parametrize("opset", [12, 10_000, "17", True])
def test_unusable_opset_is_refused(opset, tmp_path):
    with pytest.raises(ConfigError, match=r"opset must be an int from 13"):
        _export(gn.Sequential([Input((3,)), Dense(2)]), tmp_path, opset=opset)
    assert list(tmp_path.iterdir()) == []


def test_missing_onnx_names_the_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes "import onnx" fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'glassnet\[io\]'"):
        _export(gn.Sequential([Input((3,)), Dense(2)]), tmp_path)


def test_missing_h5py_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'glassnet\[io\]'"):
        gn.io.load_keras(KERAS / "norm_mlp.keras")


def test_a_functional_chain_exports_and_a_branched_graph_is_refused(tmp_path):
    from glassnet import layers
    from glassnet.errors import ConfigError

    inputs = Input(shape=(3,))
    hidden = Dense(5, "tanh")(inputs)
    chain = gn.Model(inputs, Dense(2, "sigmoid")(hidden))
    _assert_matches(chain, _export(chain, tmp_path), _inputs())
    inputs = Input(shape=(3,))
    joined = layers.Concatenate()([Dense(2)(inputs), Dense(2)(inputs)])
    with pytest.raises(ConfigError, match="branched functional model"):
        _export(gn.Model(inputs, joined), tmp_path)
