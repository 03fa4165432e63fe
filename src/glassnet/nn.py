"""``tf.nn``'s activation functions, for ``import glassnet as tf; tf.nn.softmax(z)``.

Each takes any array and returns a :class:`~glassnet.tensor.Tensor` (an ndarray that
answers ``.numpy()``), computed by the same functions the layers use.
"""

from __future__ import annotations

import numpy as np

from glassnet import activations as gnactivations
from glassnet.tensor import Tensor


def _floats(x) -> np.ndarray:
    x = np.asarray(x)
    return np.asarray(x, dtype=np.result_type(x.dtype, np.float32))


def softmax(logits, axis=-1, name=None) -> Tensor:
    """exp(z) / sum(exp(z)) along ``axis`` (the last by default)."""
    z = np.moveaxis(_floats(logits), axis, -1)
    out = gnactivations._softmax_f(z, np.empty_like(z))
    return np.moveaxis(out, -1, axis).view(Tensor)


def log_softmax(logits, axis=-1, name=None) -> Tensor:
    """z - log(sum(exp(z))) along ``axis``, without overflow."""
    z = _floats(logits)
    shifted = z - z.max(axis=axis, keepdims=True)
    return (shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))).view(Tensor)


def sigmoid(x, name=None) -> Tensor:
    """1 / (1 + exp(-x))."""
    return gnactivations.sigmoid(x)


def relu(features, name=None) -> Tensor:
    """max(x, 0)."""
    return gnactivations.relu(features)


def tanh(x, name=None) -> Tensor:
    return gnactivations.tanh(x)


def leaky_relu(features, alpha=0.2, name=None) -> Tensor:
    """x where x > 0, else alpha * x (TF's default alpha is 0.2)."""
    x = _floats(features)
    return np.where(x > 0, x, x * np.asarray(alpha, x.dtype)).view(Tensor)


def elu(features, name=None) -> Tensor:
    return gnactivations.elu(features)


def gelu(features, approximate=False, name=None) -> Tensor:
    """x * Phi(x), exact unless ``approximate`` (then the tanh form)."""
    if not approximate:
        return gnactivations.gelu(features)
    x = _floats(features)
    inner = np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)
    return (0.5 * x * (1.0 + np.tanh(inner))).astype(x.dtype).view(Tensor)


def softplus(features, name=None) -> Tensor:
    return gnactivations.softplus(features)


def silu(features, beta=1.0, name=None) -> Tensor:
    """x * sigmoid(beta * x)."""
    x = _floats(features)
    return (x * gnactivations.sigmoid(beta * x).numpy()).view(Tensor)


swish = silu


__all__ = ["elu", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu", "softmax",
           "softplus", "swish", "tanh"]
