"""Rescaling: ``x * scale + offset`` (e.g. pixel values 0..255 to 0..1 with scale=1/255)."""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError
from glassnet.layers.base import Layer


class Rescaling(Layer):
    """Multiplies its input by ``scale`` and adds ``offset`` (numbers, or arrays that
    broadcast against one sample); no weights."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self._scale = _number_or_array("scale", scale)
        self.offset, self._offset = _number_or_array("offset", offset)

    def build(self, input_shape):
        for name, value in (("scale", self._scale), ("offset", self._offset)):
            try:
                np.broadcast_shapes(value.shape, tuple(input_shape[1:]))
            except ValueError:
                raise ConfigError(f"Rescaling {self.name!r}: {name} of shape {value.shape} "
                                  f"does not broadcast against samples of shape "
                                  f"{tuple(input_shape[1:])}") from None
        super().build(input_shape)

    def forward(self, x, training=False, keep=None):
        """a = x · scale + offset."""
        return x * self._scale.astype(x.dtype) + self._offset.astype(x.dtype)

    def backward(self, dy, need_dx=True):
        """dx = dy · scale."""
        return dy * self._scale.astype(dy.dtype) if need_dx else None

    def onnx_nodes(self, graph, x: str, scope: str) -> str:
        scaled = graph.node("Mul", [x, graph.constant(f"{scope}/scale", self._scale)], scope)
        return graph.node("Add", [scaled, graph.constant(f"{scope}/offset", self._offset)],
                          scope)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config


def _number_or_array(name, value):
    """(the value as get_config returns it, the float64 array forward uses)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"Rescaling {name} must be a number or an array of numbers, "
                          f"got {value!r}") from None
    if not np.isfinite(array).all():
        raise ConfigError(f"Rescaling {name} must be finite, got {value!r}")
    return (float(array) if array.ndim == 0 else array.tolist()), array
