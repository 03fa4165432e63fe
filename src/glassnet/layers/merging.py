"""Layers that merge branches of a functional model: Concatenate and Add.

They take a list of inputs (``Concatenate()([a, b])``) and have no weights. Their
``backward`` returns one gradient per input, each an array of its own: a producer may
overwrite the gradient it is given (Dense's in-place activation step), so two inputs
must never share one.
"""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError, ShapeError
from glassnet.layers.base import Layer


class Merge(Layer):
    """Base of layers whose input is a list of tensors of the same batch size."""

    #: Graph code asks this instead of the class: the layer's input is a list.
    takes_list = True

    def __call__(self, inputs, training: bool = False):
        from glassnet.models.functional import is_symbolic, symbolic_call

        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ConfigError(f"layer {self.name!r} merges a list of at least 2 inputs, "
                              f"got {type(inputs).__name__}")
        if any(is_symbolic(x) for x in inputs):
            return symbolic_call(self, list(inputs))
        arrays = [np.asarray(x, dtype=self.dtype) for x in inputs]
        if not self.built:
            self.build([(None,) + a.shape[1:] for a in arrays])
        self._check_shapes([(None,) + a.shape[1:] for a in arrays])
        return self.forward(arrays, training=training)

    def build(self, input_shape) -> None:
        shapes = [tuple(s) for s in input_shape]
        self._check_shapes(shapes)
        self.input_shape = shapes
        self.built = True

    def _check_shapes(self, shapes) -> None:
        raise NotImplementedError

    def _shape_text(self, shapes) -> str:
        return ", ".join("(" + ", ".join("None" if d is None else str(d) for d in s) + ")"
                         for s in shapes)


class Concatenate(Merge):
    """Joins its inputs along ``axis`` (default the last: the features)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis == 0:
            raise ConfigError(f"Concatenate axis must be a non-zero int (axis 0 is the "
                              f"batch), got {axis!r}")
        self.axis = int(axis)
        self._sizes: list[int] = []

    def _check_shapes(self, shapes) -> None:
        ranks = {len(s) for s in shapes}
        axis = self.axis % max(ranks)
        if len(ranks) != 1 or axis == 0 or any(
                [d for i, d in enumerate(s) if i not in (0, axis)]
                != [d for i, d in enumerate(shapes[0]) if i not in (0, axis)] for s in shapes):
            raise ShapeError(f"layer {self.name!r} concatenates on axis {self.axis} inputs "
                             f"that agree on every other axis; got {self._shape_text(shapes)}")

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        axis = self.axis % len(shapes[0])
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)

    def forward(self, x, training=False, keep=None):
        """a = [x₁ x₂ …] joined along the axis."""
        self._sizes = [a.shape[self.axis] for a in x]
        return np.concatenate(x, axis=self.axis)

    def backward(self, dy, need_dx=True):
        """dxᵢ = dy cut back into the inputs' pieces."""
        if not need_dx:
            return None
        cuts = np.cumsum(self._sizes)[:-1]
        # Contiguous copies: views of dy would alias and reach BLAS strided.
        return [np.ascontiguousarray(part) for part in np.split(dy, cuts, axis=self.axis)]

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Add(Merge):
    """The element-wise sum of its inputs (all of one shape)."""

    def _check_shapes(self, shapes) -> None:
        if any(tuple(s[1:]) != tuple(shapes[0][1:]) for s in shapes):
            raise ShapeError(f"layer {self.name!r} adds inputs of one shape; got "
                             f"{self._shape_text(shapes)}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def forward(self, x, training=False, keep=None):
        """a = x₁ + x₂ + …"""
        out = np.array(x[0], copy=True)
        for other in x[1:]:
            out += other
        return out

    def backward(self, dy, need_dx=True):
        """dxᵢ = dy for every input: each input's share of a sum is all of it."""
        if not need_dx:
            return None
        # Each in its own array: a producer may write over the gradient it is given.
        return [np.array(dy, copy=True) for _ in self.input_shape]


__all__ = ["Add", "Concatenate", "Merge"]


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``: Keras's functional form (``layers.add([x, y])``)."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis, **kwargs)(inputs)``: Keras's functional form."""
    return Concatenate(axis=axis, **kwargs)(inputs)
