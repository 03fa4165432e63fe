"""What calling a layer, a model, an activation, a loss or a metric returns.

TF code calls ``.numpy()`` on every such result (``model(x).numpy()``,
``tf.nn.softmax(z).numpy()``, ``loss(y, p).numpy()``, ``metric.result().numpy()``).
glassnet's results are NumPy already, so they only need to answer it:

- :class:`Tensor` is an ``ndarray`` subclass: everything NumPy does with it works,
  ufuncs and slices of it are Tensors again (so ``(p >= 0.5).numpy()`` works), and
  ``.numpy()`` is the plain ``ndarray`` view of the same memory (no copy).
- :class:`Scalar` is a ``float`` subclass with ``.numpy()`` (a NumPy scalar of the
  float type, as TF returns), for losses and metric results.

Only the public call boundary wraps; the training loop, ``predict`` and every
internal path keep plain ndarrays and floats.
"""

from __future__ import annotations

import numpy as np


class Tensor(np.ndarray):
    """An ``ndarray`` that also answers ``.numpy()``, as a TF eager tensor does."""

    def numpy(self):
        """The values as a plain ndarray (a view, no copy); a NumPy scalar when 0-d."""
        plain = self.view(np.ndarray)
        return plain[()] if plain.ndim == 0 else plain

    def __format__(self, spec: str) -> str:
        # f"{metric_value:.4f}" on a per-threshold result: format each value.
        if self.ndim == 0 or not spec:
            return super().__format__(spec)
        return "[" + " ".join(format(v, spec) for v in self.numpy().reshape(-1)) + "]"

    def __getitem__(self, key):
        # ``model(x)[0, 0].numpy()`` is TF code too: an element stays a (0-d) Tensor.
        item = super().__getitem__(key)
        if isinstance(item, np.generic):
            return np.asarray(item).view(Tensor)
        return item


class Scalar(float):
    """A float that answers ``.numpy()``: what a loss call or ``metric.result()`` gives."""

    __slots__ = ()

    def numpy(self):
        """The value as a NumPy scalar of ``backend.floatx()`` (float32 by default)."""
        from glassnet.backend import floatx

        return np.dtype(floatx()).type(self)


def as_tensor(array) -> Tensor:
    """``array`` viewed as a Tensor (no copy); a plain float becomes a :class:`Scalar`."""
    if isinstance(array, (float, int)) and not isinstance(array, bool):
        return Scalar(array)
    return np.asarray(array).view(Tensor)


def as_result(value):
    """A metric's result for the user: a Scalar for one number, a Tensor for several."""
    if type(value) is float:  # the common case, asked at every logged step: no np.ndim
        return Scalar(value)
    if np.ndim(value) == 0:
        return Scalar(float(value))
    return np.asarray(value, dtype=np.float64).view(Tensor)


__all__ = ["Scalar", "Tensor", "as_result", "as_tensor"]
