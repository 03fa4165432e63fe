"""Inspection of a model with several inputs or outputs: a clear refusal naming the
model and what works instead (it was a NumPy ValueError about an inhomogeneous array),
while ``gradients`` works on such models."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers


def _two_inputs():
    a, b = gn.Input((4,), name="a"), gn.Input((3,), name="b")
    out = layers.Dense(1)(layers.Concatenate()([layers.Dense(2)(a), b]))
    model = gn.Model(inputs=[a, b], outputs=out, name="two_in")
    model.compile("sgd", "mse")
    rs = np.random.RandomState(0)
    return model, [rs.rand(8, 4), rs.rand(8, 3)], rs.rand(8, 1)


def _two_outputs():
    c = gn.Input((4,), name="c")
    h = layers.Dense(3)(c)
    model = gn.Model(inputs=c, outputs=[layers.Dense(1, name="r")(h),
                                        layers.Dense(2, name="s")(h)], name="two_out")
    model.compile("sgd", ["mse", "mse"])
    rs = np.random.RandomState(1)
    return model, rs.rand(8, 4), [rs.rand(8, 1), rs.rand(8, 2)]


@pytest.mark.parametrize("build, counts", [(_two_inputs, "2 inputs and 1 output"),
                                           (_two_outputs, "1 input and 2 outputs")])
@pytest.mark.parametrize("what", ["trace", "diagnose", "importance"])
def test_inspection_refuses_several_inputs_or_outputs_by_name(build, counts, what):
    model, x, y = build()
    with pytest.raises(gn.errors.ConfigError, match=f"'{model.name}' has {counts}"):
        getattr(gn.inspect, what)(model, x, y)
    grads = gn.inspect.gradients(model, x, y)
    assert grads  # the engine's own gradients do work
