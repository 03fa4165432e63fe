"""A real Keras 3 model compiled but never trained loads with a fresh optimizer.

Keras saves such an optimizer as its step count and learning rate only (two arrays
in ``optimizer/vars``, no slots); loading it, Keras itself starts the optimizer
afresh. The fixtures (``untrained_<optimizer>.keras``, made by
scripts/make_keras_fixtures.py with the real Keras) also record the weights Keras
reached after loading the file and training 2 epochs: glassnet must reach them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import glassnet as gn

h5py = pytest.importorskip("h5py")
KERAS = Path(__file__).resolve().parents[1] / "data" / "keras"
CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adamw": "AdamW"}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_untrained_keras_optimizer_loads_fresh(name):
    model = gn.io.load_keras(KERAS / f"untrained_{name}.keras")
    optimizer = model.optimizer
    assert type(optimizer).__name__ == CLASSES[name]
    assert optimizer.iterations == 0
    assert optimizer.slots  # SGD(momentum=0.9), Adam, AdamW, RMSprop: all keep slots
    for slot, value in optimizer.slots.items():
        np.testing.assert_array_equal(value, optimizer.slot_initial_value(slot),
                                      err_msg=f"{name}: slot {slot!r}")


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_training_from_an_untrained_keras_file_matches_keras(name):
    expected = load_file(str(KERAS / f"untrained_{name}.io.safetensors"))
    model = gn.models.load_model(KERAS / f"untrained_{name}.keras")
    model.fit(expected["x"], expected["y"], batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 8
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, expected[f"final/{i}"], rtol=0, atol=2e-5,
                                   err_msg=f"{name}: weight {i}")
