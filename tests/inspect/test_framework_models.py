"""describe / trace / diagnose / importance take a PyTorch or Keras Sequential as it is."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import glassnet as gn  # noqa: E402
from frameworks import need  # noqa: E402
from glassnet.errors import ConfigError  # noqa: E402

X = np.random.default_rng(0).normal(size=(64, 5))


def _torch_mlp():
    torch = need("torch")
    torch.manual_seed(0)
    nn = torch.nn
    return torch, nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Dropout(0.1),
                                nn.Sequential(nn.Linear(12, 6), nn.Tanh()), nn.Linear(6, 3))


def test_torch_sequential_is_described_and_traced_as_its_own_tensors():
    torch, model = _torch_mlp()
    rows = gn.inspect.describe(model).to_records()
    assert [(r["layer"], r["variable"]) for r in rows][:2] == [("dense", "kernel"),
                                                              ("dense", "bias")]
    weight = model[0].weight.detach().numpy().astype(np.float64)
    assert rows[0]["shape"] == "5×12"  # glassnet's (in, out): the weight transposed
    assert rows[0]["mean"] == pytest.approx(weight.mean()) and \
        rows[0]["std"] == pytest.approx(weight.std())
    model.eval()
    with torch.no_grad():
        want = model(torch.tensor(X, dtype=torch.float32)).numpy()
    assert np.allclose(gn.inspect.trace(model, X).output, want, atol=1e-5)
    table = gn.inspect.importance(model, X, method="weights").to_records()
    assert {r["feature"] for r in table} == {f"x{i}" for i in range(5)}


def test_diagnose_finds_a_torch_relu_layer_made_dead():
    torch, model = _torch_mlp()
    with torch.no_grad():
        model[0].bias.fill_(-100.0)  # every unit of the first ReLU layer: never positive
    findings = gn.inspect.diagnose(model, X)
    dead = [f for f in findings if f.layer == "dense" and "dead" in f.what.lower()]
    assert dead, findings
    assert not any(f.layer == "dense" for f in gn.inspect.diagnose(_torch_mlp()[1], X))


def test_an_unsupported_torch_module_is_named():
    torch = need("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Conv1d(1, 1, 1))
    with pytest.raises(ConfigError, match=r"'2' \(Conv1d\) cannot be converted"):
        gn.inspect.describe(model)
    with pytest.raises(ConfigError, match="nn.Sequential"):
        gn.inspect.trace(nn.Linear(5, 4), X)


def test_keras_sequential_is_inspected_with_its_weights_and_loss():
    keras = need("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Normalization(mean=0.5,
                                                                            variance=2.0),
                              keras.layers.Dense(8), keras.layers.Activation("relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    want = keras.ops.convert_to_numpy(model(X.astype("float32"), training=False))
    assert np.allclose(gn.inspect.trace(model, X).output, want, atol=1e-5)
    rows = {(r["layer"], r["variable"]): r for r in gn.inspect.describe(model).to_records()}
    kernel = keras.ops.convert_to_numpy(model.layers[1].kernel)
    assert rows[(model.layers[1].name, "kernel")]["l2"] == pytest.approx(
        np.linalg.norm(kernel), rel=1e-6)
    y = X[:, :1] * 2.0
    table = gn.inspect.importance(model, X, y).to_records()  # permutation: needs the loss
    assert len(table) == 5
    unsupported = keras.Sequential([keras.Input((5,)), keras.layers.LayerNormalization()])
    with pytest.raises(ConfigError, match="LayerNormalization"):
        gn.inspect.describe(unsupported)
