"""Activation layers with settings, as Keras 3 has them: ReLU, LeakyReLU, Softmax.

Each is an ``Activation`` layer whose function carries the layer's settings, so the
training loop, the fused softmax + cross-entropy step and inspection treat them as
the ``Activation`` they are: one forward and one backward, the Activation's.
"""

from __future__ import annotations

import numbers

import numpy as np

from glassnet import activations as gnactivations
from glassnet.activations import ActivationFn
from glassnet.errors import ConfigError
from glassnet.layers.core import Activation


def _non_negative(layer: str, name: str, value, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ConfigError(f"{layer} {name} must be a number >= 0"
                          f"{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


def relu_function(max_value=None, negative_slope=0.0, threshold=0.0) -> ActivationFn:
    """Keras's ``relu(x, negative_slope, max_value, threshold)`` and its derivative.

    g(z) = min(z, max_value) where z > threshold, else negative_slope * (z - threshold);
    g'(z) = 1 where threshold < z < max_value, 0 where z >= max_value, negative_slope
    where z <= threshold.
    """
    if max_value is None and negative_slope == 0.0 and threshold == 0.0:
        return gnactivations.relu
    top = np.inf if max_value is None else max_value

    def forward(z, out):
        out[...] = np.where(z > threshold, np.minimum(z, top), negative_slope * (z - threshold))
        return out

    def backward(z, a, da, out):
        slope = np.where(z > threshold, (z < top).astype(z.dtype), negative_slope)
        np.multiply(da, slope.astype(da.dtype, copy=False), out=out)
        return out

    return ActivationFn("relu", forward, backward, needs="z")


class _ActivationWithSettings(Activation):
    """An Activation whose settings (not an activation name) say its function."""

    def get_config(self):
        config = super().get_config()
        del config["activation"]  # the settings below say it
        return config


class ReLU(_ActivationWithSettings):
    """Rectified linear unit with Keras's options (defaults give max(z, 0)).

    Parameters
    ----------
    max_value : float or None
        Largest output (None: unbounded; 6 gives ReLU6).
    negative_slope : float
        Slope below the threshold (0: plain ReLU).
    threshold : float
        Inputs at or below it give ``negative_slope * (z - threshold)``.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        self.max_value = _non_negative("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        super().__init__(relu_function(self.max_value, self.negative_slope, self.threshold),
                         **kwargs)

    def onnx_nodes(self, graph, x: str, scope: str) -> str:
        """Where(x > threshold, Min(x, max_value), negative_slope * (x - threshold))."""
        threshold = graph.constant(f"{scope}/threshold", self.threshold)
        top = x if self.max_value is None else graph.node(
            "Min", [x, graph.constant(f"{scope}/max_value", self.max_value)], scope)
        below = graph.node("Mul", [graph.node("Sub", [x, threshold], scope),
                                   graph.constant(f"{scope}/negative_slope",
                                                  self.negative_slope)], scope)
        return graph.node("Where", [graph.node("Greater", [x, threshold], scope), top, below],
                          scope)

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(_ActivationWithSettings):
    """``z`` where z > 0, else ``negative_slope * z`` (Keras 3: default 0.3).

    ``alpha=`` (tf.keras 2's name for the slope) is accepted as well.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        slope = self.negative_slope

        def forward(z, out):
            out[...] = np.where(z > 0, z, slope * z)
            return out

        def backward(z, a, da, out):
            np.multiply(da, np.where(z > 0, 1.0, slope).astype(da.dtype), out=out)
            return out

        super().__init__(ActivationFn("leaky_relu", forward, backward, needs="z"), **kwargs)

    def onnx_nodes(self, graph, x: str, scope: str) -> str:
        return graph.node("LeakyRelu", [x], scope, alpha=self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class Softmax(_ActivationWithSettings):
    """Softmax over the last axis: ``exp(z) / sum(exp(z))`` per sample.

    As an output layer it fuses with a cross-entropy loss exactly as
    ``Dense(..., activation="softmax")`` does.
    """

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ConfigError(f"Softmax axis must be an int (the last axis, -1), got {axis!r}")
        self.axis = int(axis)
        super().__init__(gnactivations.softmax, **kwargs)

    def build(self, input_shape):
        if self.axis not in (-1, len(input_shape) - 1):
            raise ConfigError(f"Softmax {self.name!r} normalizes over the last axis of input "
                              f"{tuple(input_shape)}: axis must be -1 or "
                              f"{len(input_shape) - 1}, got {self.axis}")
        super().build(input_shape)

    def onnx_nodes(self, graph, x: str, scope: str) -> str:
        return graph.node("Softmax", [x], scope, axis=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
