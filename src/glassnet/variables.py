"""Variable: the one place a weight or a bias lives.

A Variable is a named NumPy array (``value``) with a gradient array of the same
shape (``grad``). Layers own their Variables; a model lists them in Keras order
(kernel, then bias, layer by layer); optimizers update ``value`` in place;
inspection, tracking and saving read them by ``path`` (``"dense_1/kernel"``).

When a model is built for training, the trainable Variables are re-seated as views
into one flat buffer (see ``models``) so that an optimizer can update them all with
a few ufunc calls. ``assign`` always writes into the current storage, so a view
stays a view.
"""

from __future__ import annotations

import numpy as np

from glassnet.errors import ShapeError


class Variable:
    """A named, trainable (or not) array with its gradient.

    Parameters
    ----------
    value : array-like
        Initial value; copied.
    name : str
        Short name inside its layer (``"kernel"``, ``"bias"``, ``"mean"``).
    path : str, optional
        Full name, ``"<layer>/<name>"``; defaults to ``name``.
    trainable : bool
        Whether optimizers update it.
    """

    __slots__ = ("value", "grad", "name", "path", "trainable", "regularizer", "constraint")

    def __init__(self, value, name: str, path: str | None = None, trainable: bool = True,
                 dtype=None, regularizer=None, constraint=None):
        self.value = np.array(value, dtype=dtype, copy=True)
        self.grad = np.zeros_like(self.value)
        self.name = name
        self.path = path or name
        self.trainable = bool(trainable)
        self.regularizer = regularizer
        self.constraint = constraint

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def size(self) -> int:
        return self.value.size

    def numpy(self) -> np.ndarray:
        """A copy of the current value (never a view: changing it changes nothing)."""
        return self.value.copy()

    def assign(self, value) -> None:
        """Write a new value in place, after checking its shape."""
        array = np.asarray(value, dtype=self.value.dtype)
        if array.shape != self.value.shape:
            raise ShapeError(
                f"Variable {self.path!r} has shape {self.value.shape}, "
                f"cannot assign a value of shape {array.shape}"
            )
        self.value[...] = array

    def _reseat(self, value_view: np.ndarray, grad_view: np.ndarray) -> None:
        """Move this Variable's storage into views of a model's flat buffers."""
        value_view[...] = self.value
        grad_view[...] = self.grad
        self.value = value_view
        self.grad = grad_view

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def __repr__(self) -> str:
        return (f"<Variable path={self.path!r} shape={self.value.shape} "
                f"dtype={self.value.dtype} trainable={self.trainable}>")

    def _repr_html_(self) -> str:  # a notebook cell's rich display (glassnet.report.display)
        from glassnet.report.display import variable_html
        return variable_html(self)

    def _repr_markdown_(self) -> str:
        from glassnet.report.display import variable_markdown
        return variable_markdown(self)


__all__ = ["Variable"]
