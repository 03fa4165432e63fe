"""PyTorch state dicts made by the real PyTorch (scripts/make_torch_fixtures.py) load alike.

Each ``tests/data/torch/<name>.safetensors`` is ``model.state_dict()`` of an
``nn.Sequential``; ``<name>.io.safetensors`` holds an input ``x`` and PyTorch's
output ``y``; ``<name>.json`` the architecture. PyTorch is the independent truth.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import glassnet as gn
from glassnet.errors import FileFormatError
from glassnet.layers import Dense, Input, Normalization

TORCH = Path(__file__).resolve().parents[1] / "data" / "torch"
ATOL = 1e-5


def _model_for(name, overrides=None):
    arch = json.loads((TORCH / f"{name}.json").read_text())
    layers = [Input(tuple(arch["input_shape"]))]
    for i, spec in enumerate(arch["layers"]):
        spec = {**spec, **(overrides or {}).get(i, {})}
        layers.append(Dense(spec["units"], spec["activation"], use_bias=spec["use_bias"],
                            name=f"linear_{spec['prefix']}"))
    return gn.Sequential(layers)


@pytest.mark.parametrize("name", ["mlp_relu", "mlp_nobias_tanh_sigmoid"])
def test_state_dict_predicts_what_pytorch_predicted(name):
    model = _model_for(name)
    gn.io.load_torch_state(TORCH / f"{name}.safetensors", model)
    io = load_file(str(TORCH / f"{name}.io.safetensors"))
    np.testing.assert_allclose(model.predict(io["x"]), io["y"], rtol=0, atol=ATOL)


def test_weight_is_transposed_into_the_kernel():
    state = load_file(str(TORCH / "mlp_relu.safetensors"))
    model = _model_for("mlp_relu")
    gn.io.load_torch_state(TORCH / "mlp_relu.safetensors", model)
    np.testing.assert_array_equal(model.layers[0].kernel.value, state["0.weight"].T)
    np.testing.assert_array_equal(model.layers[1].bias.value, state["2.bias"])


def test_mismatched_state_dict_names_the_tensor_and_both_shapes():
    model = _model_for("mlp_relu")
    before = model.get_weights()
    with pytest.raises(FileFormatError, match=r"mismatched\.safetensors: tensor '2\.weight' "
                                              r"has shape \(3, 7\), Dense layer 'linear_2' "
                                              r"needs \(3, 8\)"):
        gn.io.load_torch_state(TORCH / "mismatched.safetensors", model)
    for want, got in zip(before, model.get_weights(), strict=True):  # nothing half-set
        np.testing.assert_array_equal(got, want)


def test_layer_count_mismatch_lists_both_sides():
    model = gn.Sequential([Input((4,)), Dense(8, "relu"), Dense(3), Dense(1)])
    with pytest.raises(FileFormatError, match=r"2 nn\.Linear layers \(0, 2\).*3 Dense layers"):
        gn.io.load_torch_state(TORCH / "mlp_relu.safetensors", model)


def test_bias_presence_must_match_use_bias():
    model = _model_for("mlp_relu", {0: {"use_bias": False}})
    with pytest.raises(FileFormatError, match=r"'0\.bias' is present.*use_bias=False"):
        gn.io.load_torch_state(TORCH / "mlp_relu.safetensors", model)
    model = _model_for("mlp_nobias_tanh_sigmoid", {0: {"use_bias": True}})
    with pytest.raises(FileFormatError, match=r"'0\.bias' is missing.*use_bias=True"):
        gn.io.load_torch_state(TORCH / "mlp_nobias_tanh_sigmoid.safetensors", model)


def test_indices_sort_as_numbers_and_other_layers_are_left_alone(tmp_path):
    rng = np.random.default_rng(0)
    # Linear modules at indices 2 and 10: "10" must come after "2".
    state = {"2.weight": rng.standard_normal((5, 3)).astype(np.float32),
             "2.bias": rng.standard_normal(5).astype(np.float32),
             "10.weight": rng.standard_normal((1, 5)).astype(np.float32),
             "10.bias": rng.standard_normal(1).astype(np.float32)}
    save_file(state, str(tmp_path / "s.safetensors"))
    model = gn.Sequential([Input((3,)), Normalization(mean=1.0, variance=4.0),
                           Dense(5, "relu"), Dense(1)])
    gn.io.load_torch_state(tmp_path / "s.safetensors", model)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    hidden = np.maximum(((x - 1.0) / 2.0) @ state["2.weight"].T + state["2.bias"], 0)
    expected = hidden @ state["10.weight"].T + state["10.bias"]
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(model.layers[0].mean.value, np.ones(3))


def test_tensor_that_is_not_a_linear_is_named(tmp_path):
    state = load_file(str(TORCH / "mlp_relu.safetensors"))
    state["1.running_mean"] = np.zeros(8, dtype=np.float32)
    save_file(state, str(tmp_path / "bn.safetensors"))
    with pytest.raises(FileFormatError, match=r"tensor '1\.running_mean' is not the weight"):
        gn.io.load_torch_state(tmp_path / "bn.safetensors", _model_for("mlp_relu"))


def test_a_torch_save_pickle_is_refused_without_unpickling(tmp_path, monkeypatch):
    def no_unpickling(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    with zipfile.ZipFile(tmp_path / "mlp.pt", "w") as archive:  # torch.save's layout
        archive.writestr("mlp/data.pkl", pickle.dumps({"0.weight": [[1.0]]}))
    (tmp_path / "old.pt").write_bytes(pickle.dumps({"0.weight": [[1.0]]}, protocol=2))
    for name in ("mlp.pt", "old.pt"):
        with pytest.raises(FileFormatError, match=rf"{name}: this looks like a torch\.save "
                                                  rf"pickle.*safetensors\.torch\.save_file"):
            gn.io.load_torch_state(tmp_path / name, _model_for("mlp_relu"))
