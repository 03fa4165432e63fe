"""NaN or infinite weights in a loaded file: loaded as they are (Keras loads them too),
with a NonFiniteWeightsWarning naming each such variable."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.io.matching import NonFiniteWeightsWarning
from glassnet.layers import Dense, Input

pytest.importorskip("h5py")


def _model():
    model = gn.Sequential([Input((3,)), Dense(4, "relu", name="hidden"), Dense(1, name="out")])
    kernel = model.layers[0].kernel.value.copy()
    kernel[1, 2] = np.nan
    model.layers[0].kernel.assign(kernel)
    bias = model.layers[1].bias.value.copy()
    bias[0] = np.inf
    model.layers[1].bias.assign(bias)
    return model


def _load(name, path):
    if name.endswith((".glassnet", ".keras")):
        return gn.models.load_model(path)
    fresh = gn.Sequential([Input((3,)), Dense(4, "relu", name="hidden"), Dense(1, name="out")])
    fresh.load_weights(path)
    return fresh


@pytest.mark.parametrize("name", ["m.glassnet", "m.keras", "w.weights.h5",
                                  "w.weights.safetensors"])
def test_non_finite_weights_load_with_a_warning_naming_them(name, tmp_path):
    model = _model()
    (model.save_weights if "weights" in name else model.save)(tmp_path / name)
    with pytest.warns(NonFiniteWeightsWarning) as caught:
        loaded = _load(name, tmp_path / name)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert str(tmp_path / name) in message
    assert "'hidden/kernel'" in message and "'out/bias'" in message
    assert "'hidden/bias'" not in message and "'out/kernel'" not in message
    assert np.isnan(loaded.layers[0].kernel.value[1, 2])
    assert loaded.layers[1].bias.value[0] == np.inf
    np.testing.assert_array_equal(loaded.layers[1].kernel.value, model.layers[1].kernel.value)


def test_finite_weights_load_without_a_warning(tmp_path):
    model = gn.Sequential([Input((3,)), Dense(2)])
    model.save(tmp_path / "m.glassnet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gn.models.load_model(tmp_path / "m.glassnet")


def test_the_warning_is_a_user_warning():
    assert issubclass(NonFiniteWeightsWarning, UserWarning)
